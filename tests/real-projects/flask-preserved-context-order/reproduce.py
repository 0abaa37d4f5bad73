import flask

app = flask.Flask(__name__)
app.secret_key = "test key"


@app.route("/redirect")
def redirect_view():
    flask.session["redirect"] = True
    return flask.redirect("/target")


@app.route("/target")
def target_view():
    flask.session["target"] = True
    return ""


try:
    with app.app_context(), app.test_client() as client:
        client.get("/redirect", follow_redirects=True)
        keys = set(flask.session.keys())
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    if keys == {"redirect", "target"}:
        print("Issue resolved")
    elif keys < {"redirect", "target"}:
        print("Issue reproduced")
    else:
        print("Other issues")
