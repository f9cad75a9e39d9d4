#!/usr/bin/env python3
"""function_length.py fails on a planted 81-line function and passes an 80-line one,
a marked table, and the shapes it must not mistake for functions."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import function_length  # noqa: E402


def function_of(body_lines, signature="int Planted(int x) {", before=""):
    """A function whose braces span 2 + body_lines lines."""
    body = "".join(f"  x += {i};  // {{ not a brace\n" for i in range(body_lines))
    return f"{before}{signature}\n{body}}}\n"


def lengths(text):
    return {name: closing - opening + 1
            for name, _, opening, closing, _ in function_length.functions(text)}


class FunctionLengthTest(unittest.TestCase):

    def run_check(self, source):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "services", "x"))
            with open(os.path.join(root, "services", "x", "x.cc"), "w") as f:
                f.write(source)
            # A test file is never checked, however long.
            with open(os.path.join(root, "services", "x", "x_test.cc"), "w") as f:
                f.write(function_of(200))
            return subprocess.run(
                [sys.executable, os.path.join(HERE, "function_length.py"), root],
                capture_output=True, text=True)

    def test_fails_on_a_planted_81_line_function(self):
        result = self.run_check("namespace a {\n" + function_of(79) + "}  // namespace a\n")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("services/x/x.cc:2: Planted is 81 lines", result.stdout)

    def test_passes_an_80_line_function(self):
        result = self.run_check("namespace a {\n" + function_of(78) + "}  // namespace a\n")
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_a_marked_table_is_exempt(self):
        marked = function_of(150, before="// Why.\n// table: planted rows.\n")
        self.assertEqual(self.run_check(marked).returncode, 0)
        unmarked = function_of(150, before="// table: a comment, then a blank line.\n\n")
        self.assertEqual(self.run_check(unmarked).returncode, 1)

    def test_finds_members_in_classes_and_skips_initializers(self):
        text = (
            'const char* kText = "}}}";\n'
            "const int kTable[] = {\n" + "  1,\n" * 100 + "};\n"
            "enum class E {\n" + "  kA,\n" * 100 + "};\n"
            "struct S {\n"
            "  int Inline() const {\n    return 1;\n  }\n"
            "};\n"
            "Foo::Foo(int a) : a_(a), b_{a} {\n  Use(a_);\n}\n"
            "auto Lambda() -> int {\n  auto f = [] {\n    return 2;\n  };\n  return f();\n}\n"
            "extern \"C\" {\nint C() {\n  return 3;\n}\n}\n")
        self.assertEqual(lengths(text),
                         {"Inline": 3, "Foo::Foo": 3, "Lambda": 6, "C": 3})

    def test_a_pending_function_is_tolerated_until_split(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# pending\nservices/x/x.cc:Planted\n")
        try:
            with tempfile.TemporaryDirectory() as root:
                os.makedirs(os.path.join(root, "services", "x"))
                path = os.path.join(root, "services", "x", "x.cc")
                script = os.path.join(HERE, "function_length.py")
                for body, code, note in ((100, 0, False), (10, 0, True)):
                    with open(path, "w") as out:
                        out.write(function_of(body))
                    result = subprocess.run([sys.executable, script, "--pending", f.name, root],
                                            capture_output=True, text=True)
                    self.assertEqual(result.returncode, code, result.stdout)
                    self.assertEqual("no longer over" in result.stdout, note, result.stdout)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
