"""Where the tests find the real datasets: $PLASTICITY_DATA, ./data, or ../shared/data
beside the checkout (as in CI), each either holding the files or a NAME folder that does."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def find_dataset(name, files):
    """The first directory holding every file of ``files``, or None."""
    for c in (os.environ.get("PLASTICITY_DATA"), os.path.join(HERE, "..", "data"),
              os.path.join(HERE, "..", "..", "shared", "data")):
        for d in ((os.path.join(c, name), c) if c else ()):
            if all(os.path.isfile(os.path.join(d, f)) for f in files):
                return os.path.abspath(d)
    return None
