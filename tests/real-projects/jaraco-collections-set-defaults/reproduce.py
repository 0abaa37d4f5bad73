from jaraco.collections import set_defaults

settings = {"a": 1}
try:
    set_defaults(settings, b=2)
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    try:
        set_defaults(settings, target=999)
    except TypeError:
        print("Issue reproduced")
    except Exception as error:
        print(f"Other issues: {error!r}")
    else:
        print("Issue resolved" if settings == {"a": 1, "b": 2, "target": 999} else "Other issues")
