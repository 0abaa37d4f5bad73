from packaging.requirements import InvalidRequirement, Requirement

try:
    Requirement("name>=1 \t")
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    try:
        Requirement("name>=1\n")
    except InvalidRequirement:
        print("Issue resolved")
    except Exception as error:
        print(f"Other issues: {error!r}")
    else:
        print("Issue reproduced")
