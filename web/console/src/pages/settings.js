// pages/settings.js: words for jobs, shared by the pages: a job's state
// in words and which states are final (jobs, job, reports), and a job's
// print settings (print, job, purposes): the IPP keywords of sides,
// print-color-mode and media as people read them, and the select options
// of a setting from the values a queue supports (queue.supported, PROTOCOL.md
// §4.4).  Not a page (pages/index.js does not list it).

// a job's state in words (PROTOCOL.md §4.4 "state")
export const JOB_STATE_WORDS = {
  received: 'Being received',
  held: 'Held',
  'awaiting-payment': 'Awaiting payment',
  fetchable: 'Ready to print',
  processing: 'Printing',
  completed: 'Printed',
  canceled: 'Canceled',
  aborted: 'Failed',
  expired: 'Expired',
};
// the states a job never leaves
export const FINISHED_STATES = new Set(['completed', 'canceled', 'aborted', 'expired']);

export const SIDES_WORDS = {
  'one-sided': 'One-sided',
  'two-sided-long-edge': 'Two-sided (long edge, like a book)',
  'two-sided-short-edge': 'Two-sided (short edge, like a notepad)',
};
export const COLOR_WORDS = {
  auto: 'As the document is',
  color: 'Colour',
  monochrome: 'Black and white',
};
export const MEDIA_WORDS = {
  iso_a4_210x297mm: 'A4',
  iso_a3_297x420mm: 'A3',
  iso_a5_148x210mm: 'A5',
  'na_letter_8.5x11in': 'Letter',
  'na_legal_8.5x14in': 'Legal',
};
// the settings a job and a purpose carry, as the API names them
export const SETTINGS = [
  { name: 'sides', label: 'Sides', words: SIDES_WORDS },
  { name: 'print-color-mode', label: 'Colour', words: COLOR_WORDS },
  { name: 'media', label: 'Paper size', words: MEDIA_WORDS },
];

// a keyword in words ("two-sided-long-edge" → "Two-sided (long edge, ...)")
export function settingWords(name, value) {
  const s = SETTINGS.find((x) => x.name === name);
  return (s && s.words[value]) || value;
}

// the options of setting name: "Default" (value '': not sent, the
// purpose's or printer's default applies) then the values supported
export function settingOptions(name, supported, defaultLabel = 'Default') {
  const values = (supported && supported[name]) || [];
  return [{ value: '', label: defaultLabel }].concat(values.map((v) => ({ value: v, label: settingWords(name, v) })));
}

// "Two-sided (long edge …), Black and white, A4, 2 copies" from a job's or
// purpose's settings object ('' when it has none)
export function settingsText(settings, copies) {
  const parts = [];
  for (const s of SETTINGS) {
    if (settings && settings[s.name]) parts.push(settingWords(s.name, settings[s.name]));
  }
  if (copies) parts.push(copies === 1 ? '1 copy' : `${copies} copies`);
  return parts.join(', ');
}
