from markupsafe import Markup

try:
    stripped = Markup("Foo <!-- a comment -->\n Bar <em>baz</em>").striptags()
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    if stripped == "Foo Bar baz":
        print("Issue resolved")
    elif " ".join(stripped.split()) == "Foo Bar baz":
        print("Issue reproduced")
    else:
        print(f"Other issues: {stripped!r}")
