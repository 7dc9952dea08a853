#!/usr/bin/env python3
"""Keep-alive request load on nimbusd until it goes away.

usage: keepalive_load.py PORT USER:PASSWORD THREADS READY-FILE

Each thread sends authenticated GET /api/v1/jobs requests (each one runs on
a worker, so its connection is suspended meanwhile) back to back on one
persistent connection, reconnecting when an answer says "Connection:
close", and stops when the server no longer accepts connections.  Creates
READY-FILE once 10 answers have come (the load is running), and prints
the number of answers at the end.  Used to stop nimbusd under load (test-server).
"""
import base64
import http.client
import sys
import threading

port = int(sys.argv[1])
auth = "Basic " + base64.b64encode(sys.argv[2].encode()).decode()
threads = int(sys.argv[3])
ready_file = sys.argv[4]
answers = []
total = [0]
lock = threading.Lock()


def answered():
    with lock:
        total[0] += 1
        if total[0] == 10:
            open(ready_file, "w").close()


def run():
    count = 0
    try:
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            while True:
                conn.request("GET", "/api/v1/jobs", headers={"Authorization": auth})
                resp = conn.getresponse()
                resp.read()
                count += 1
                answered()
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    break
    except (OSError, http.client.HTTPException):
        pass
    answers.append(count)


workers = [threading.Thread(target=run) for _ in range(threads)]
for t in workers:
    t.start()
for t in workers:
    t.join()
print(sum(answers))
