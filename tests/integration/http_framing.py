#!/usr/bin/env python3
"""http_framing.py: send one request with hostile framing headers (RFC 9112
section 6) over a raw socket and print what came back, for
test-bad-input.sh and test-connector-framing.sh.

usage: http_framing.py PORT PATH CASE      (CASE from CASES below, or "list")
Prints "HTTP <status> closed" when the server answered and then closed the
connection, "HTTP <status> open" when it kept it open, "no answer" when
nothing came within the wait.  The wait (WAIT seconds) only bounds a broken
server: a correct one answers and closes at once."""
import socket
import sys

WAIT = 10

CASES = {
    # RFC 9112 6.3: both headers: the length is unknowable -> 400, close
    "cl-and-chunked": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked-and-cl": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    # two different lengths -> 400
    "two-lengths": b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    # unsupported transfer codings -> 501
    "te-gzip": b"Transfer-Encoding: gzip\r\n\r\nhello",
    "te-gzip-chunked": b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te-two-lines": b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    # chunked twice -> 400
    "te-chunked-twice": b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    # sound framing, for contrast: answered, connection kept
    "same-lengths": b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
}


def probe(port, path, case):
    req = (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/ipp\r\n"
           % (path.encode(), port)) + CASES[case]
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    data = b""
    closed = False
    try:
        s.sendall(req)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                # stop once the whole answer is in and the server keeps the
                # connection: a further recv would only wait
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if len(rest) >= length and b"close" not in head.lower():
                    s.settimeout(1)
    except ConnectionResetError:
        closed = True  # closed with unread bytes in its buffer
    except socket.timeout:
        pass
    finally:
        s.close()
    if not data:
        return "no answer"
    status = data.split(b"\r\n", 1)[0].split(b" ")
    return "HTTP %s %s" % (status[1].decode() if len(status) > 1 else "?",
                           "closed" if closed else "open")


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "list":
        print("\n".join(CASES))
        return
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        sys.exit(__doc__)
    print(probe(int(sys.argv[1]), sys.argv[2], sys.argv[3]))


if __name__ == "__main__":
    main()
