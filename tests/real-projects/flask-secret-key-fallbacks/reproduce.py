import flask
from flask.sessions import SecureCookieSessionInterface

app = flask.Flask(__name__)
app.secret_key = "current key"
app.config["SECRET_KEY_FALLBACKS"] = ["previous key", "older key"]
try:
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    signing_key = serializer.secret_key
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    if signing_key == b"current key":
        print("Issue resolved")
    elif signing_key in (b"previous key", b"older key"):
        print("Issue reproduced")
    else:
        print("Other issues")
