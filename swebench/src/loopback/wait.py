# agentless: wait until both loopback httpbin servers answer (argv: the http URL, the https URL, seconds).
import ssl
import sys
import time
import urllib.request

deadline = time.monotonic() + float(sys.argv[3])
unverified = ssl._create_unverified_context()
for url in sys.argv[1:3]:
    while True:
        try:
            urllib.request.urlopen(url, timeout=2, context=unverified).read()
            print(f"agentless: {url} answers", flush=True)
            break
        except OSError as error:
            if time.monotonic() > deadline:
                print(f"agentless: {url} does not answer: {error}", flush=True)
                sys.exit(1)
            time.sleep(0.2)
