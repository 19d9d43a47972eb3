"""Writes the malformed .npy inputs of this directory (run it after changing
the list; the files are committed). Each is named for what is wrong with it."""
import os
import struct


def npy(header, body=b"", version=(1, 0), header_len=None):
    h = header.encode("latin1")
    prefix = 10 if version[0] == 1 else 12
    h += b" " * ((64 - (prefix + len(h) + 1) % 64) % 64) + b"\n"
    n = len(h) if header_len is None else header_len
    size = struct.pack("<H" if version[0] == 1 else "<I", n)
    return b"\x93NUMPY" + bytes(version) + size + h + body


def d(descr, shape, fortran="False"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


BIG = "4611686018427387904"  # 2**62
FILES = {
    "truncated_body": npy(d("'<f8'", "(100,)"), b"\0" * 16),
    "fortran_truncated": npy(d("'<f4'", "(10, 10)", "True"), b"\0" * 40),
    "bad_magic": b"\x93NUMPX\x01\x00" + b"\0" * 60,
    "empty_file": b"",
    "short_header": b"\x93NUMPY\x01\x00\x40",
    "v2_header_length_wraps": npy(d("'<f8'", "(1,)"), b"\0" * 8, (2, 0), 0xFFFFFFFF),
    "version_7": npy(d("'<f8'", "(1,)"), b"\0" * 8, (7, 0)),
    "no_shape_key": npy("{'descr': '<f8', 'fortran_order': False, }", b"\0" * 8),
    "negative_shape": npy(d("'<f8'", "(-3,)"), b"\0" * 8),
    "bool_in_shape": npy(d("'<f8'", "(True,)"), b"\0" * 8),
    "float_in_shape": npy(d("'<f8'", "(2.5,)"), b"\0" * 16),
    "size_overflows": npy(d("'<f8'", f"({BIG}, {BIG})"), b"\0" * 8),
    "size_overflows_empty": npy(d("'<f8'", f"({BIG}, {BIG}, 0)")),
    "unknown_descr": npy(d("'<q16'", "(1,)"), b"\0" * 16),
    "unicode": npy(d("'<U5'", "(1,)"), b"\0" * 20),
    "object": npy(d("'|O'", "(1,)"), b"\0" * 8),
    "header_not_a_dict": npy("[1, 2, 3]"),
    "header_cut": npy("{'descr': '<f8', 'shape': (1,"),
    "record_field_overflows": npy(d(f"[('a', '<f8', ({BIG},)), ('b', '<f8', (4,))]", "(1,)"),
                                  b"\0" * 8),
    "record_bad_format": npy(d("[('a', '<zz')]", "(1,)"), b"\0" * 8),
    "record_field_twice": npy(d("[('a', '<f8'), ('a', '<f4')]", "(1,)"), b"\0" * 12),
    "record_nested_deep": npy(d("[('a', " * 2000 + "'<f8'" + ")]" * 2000, "(1,)"), b"\0" * 8),
}

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, blob in FILES.items():
        with open(os.path.join(here, name + ".npy"), "wb") as f:
            f.write(blob)
