"""Shared by this folder's *_hand.py scripts: reading an emitted program and writing a hand-edited variant of it as
a program directory that scripts/bench/variants.py loads (the .cu under its own name, the manifest with the new
source's sha256, which the loader checks)."""
import hashlib
import json
import os


def read_program(cu, js):
    """The source text and the manifest of an emitted program."""
    return open(cu).read(), json.load(open(js))


def write_program(directory, cu_name, text, manifest):
    """DIRECTORY/CU_NAME holding TEXT, beside the manifest (same file name, .json) with TEXT's sha256."""
    os.makedirs(directory, exist_ok=True)
    open(os.path.join(directory, cu_name), "w").write(text)
    m = dict(manifest)
    m["sourceSha256"] = hashlib.sha256(text.encode()).hexdigest()
    json.dump(m, open(os.path.join(directory, os.path.splitext(cu_name)[0] + ".json"), "w"), indent=2)


def sub(text, old, new):
    """TEXT with its one occurrence of OLD replaced by NEW (an edit that no longer matches fails loudly)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)
