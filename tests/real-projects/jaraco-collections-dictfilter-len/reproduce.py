from jaraco.collections import DictFilter

sample = {"a": 1, "b": 2, "c": 3}
try:
    filtered = DictFilter(sample, ["a", "c", "z"])
    items = dict(filtered)
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    try:
        size = len(filtered)
    except RecursionError:
        print("Issue reproduced")
    except Exception as error:
        print(f"Other issues: {error!r}")
    else:
        print("Issue resolved" if size == 2 and items == {"a": 1, "c": 3} else "Other issues")
