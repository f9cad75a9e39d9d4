#!/usr/bin/env python3
"""include_check.py fails on a planted include of a library not linked, and on a
header that includes what its library links only PRIVATE; passes once linked."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

FILES = {
    "low/low.h": "#pragma once\n",
    "low/low.cc": '#include "low/low.h"\n',
    "mid/mid.h": "#pragma once\n#include <string>\n",
    "mid/mid.cc": '#include "mid/mid.h"\n#include "low/low.h"\n',
    "top/top.h": '#pragma once\n#include "mid/mid.h"\n',
    "top/top.cc": '#include "top/top.h"\n#include "gen/api.pb.h"\n',
    "top/top_test.cc": '#include "top/top.h"\n#include "mid/mid.h"\n',
}


def target(kind, folder, sources, links=(), interface=()):
    return {"TYPE": kind, "SOURCE_DIR": folder, "SOURCES": list(sources),
            "INCLUDE_DIRECTORIES": [], "LINK_LIBRARIES": list(links),
            "INTERFACE_LINK_LIBRARIES": list(interface)}


class IncludeCheckTest(unittest.TestCase):

    def check(self, mid_links, top_links, top_interface):
        with tempfile.TemporaryDirectory() as root:
            src, build = os.path.join(root, "src"), os.path.join(root, "build")
            for name, text in FILES.items():
                os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
                with open(os.path.join(src, name), "w") as f:
                    f.write(text)
            gen = os.path.join(build, "api", "gen")
            os.makedirs(os.path.join(gen, "gen"))
            open(os.path.join(gen, "gen", "api.pb.h"), "w").close()
            api = target("STATIC_LIBRARY", os.path.join(src, "api"),
                         [os.path.join(gen, "gen", "api.pb.h")])
            api["INCLUDE_DIRECTORIES"] = [gen]
            model = {"source_dir": src, "binary_dir": build, "targets": {
                "low": target("STATIC_LIBRARY", os.path.join(src, "low"), ["low.cc"]),
                "api": api,
                "mid": target("STATIC_LIBRARY", os.path.join(src, "mid"), ["mid.cc"],
                              mid_links, mid_links),
                "top": target("STATIC_LIBRARY", os.path.join(src, "top"), ["top.cc"],
                              top_links, top_interface),
                "top_test": target("EXECUTABLE", os.path.join(src, "top"), ["top_test.cc"],
                                   ["top"]),
            }}
            path = os.path.join(build, "model.json")
            with open(path, "w") as f:
                json.dump(model, f)
            result = subprocess.run([sys.executable, os.path.join(HERE, "include_check.py"), path],
                                    capture_output=True, text=True)
            return result.returncode, result.stdout

    def test_passes_when_everything_included_is_linked(self):
        code, out = self.check(["low"], ["mid", "api"], ["mid", "$<LINK_ONLY:api>"])
        self.assertEqual(code, 0, out)

    def test_fails_on_a_planted_include_of_a_library_not_linked(self):
        code, out = self.check([], ["mid", "api"], ["mid", "$<LINK_ONLY:api>"])
        self.assertEqual(code, 1, out)
        self.assertIn('mid/mid.cc (in mid) includes "low/low.h" of low, which mid does not link',
                      out)

    def test_a_generated_header_belongs_to_its_proto_library(self):
        code, out = self.check(["low"], ["mid"], ["mid"])
        self.assertEqual(code, 1, out)
        self.assertIn('top/top.cc (in top) includes "gen/api.pb.h" of api', out)

    def test_a_header_needs_its_includes_linked_public(self):
        # top.h includes mid.h but top links mid PRIVATE: top_test, which links top,
        # would not see mid's headers.
        code, out = self.check(["low"], ["mid", "api"], ["$<LINK_ONLY:mid>", "$<LINK_ONLY:api>"])
        self.assertEqual(code, 1, out)
        self.assertIn('top/top.h (of top) includes "mid/mid.h" of mid, which top does not link '
                      "PUBLIC", out)
        self.assertIn('top/top_test.cc (in top_test) includes "mid/mid.h" of mid', out)


if __name__ == "__main__":
    unittest.main()
