from jaraco.text import FoldedCase

try:
    same = FoldedCase("foo") != "FOO"
    other = FoldedCase("foo") != object()
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    if same:
        print("Other issues")
    elif other:
        print("Issue resolved")
    else:
        print("Issue reproduced")
