"""jupyter_kernel_test's protocol conformance suite against the Tandem kernel spec.

Run by kernel/test/kernel/jupyter-kernel-test.test.ts with JUPYTER_PATH pointing at the repository's
jupyter-config/data; prints one JSON object: {"ran", "failures": [...], "errors": [...], "skipped": [...]}
(test ids and reasons), and the unittest report on stderr.
"""
import json
import sys
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel


class TandemKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tandem"
    language_name = "typescript"
    file_extension = ".ts"

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, startup_timeout=90)
        # The first cell of a fresh kernel waits for TypeScript to load on the compiler thread,
        # which on a loaded machine can pass the suite's fixed 15 s reply timeout: run it first.
        cls.kc.execute_interactive("undefined", store_history=False, timeout=120, output_hook=lambda msg: None)

    code_hello_world = "console.log('hello, world')"
    code_stderr = "console.error('to stderr')"

    # Names of the standard library and of an earlier cell's declarations (cells run in test order,
    # and test_completion runs before test_execute_result, so it declares its own names first).
    completion_samples = [
        {"text": "Math.PI.toFix", "matches": {"toFixed"}},
        {"text": "JSON.stringi", "matches": {"stringify"}},
    ]

    complete_code_samples = ["1 + 1", "const x: number = 2;", "function f(a: number) {\n  return a;\n}"]
    incomplete_code_samples = ["function f(a: number) {", "const list = [1, 2,", "const s = `text ${"]
    invalid_code_samples = [")", "const = 5;"]

    code_inspect_sample = "Math.max"

    # test_history runs these again before each query and searches for the pattern.
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'tandem'.toUpperCase()", "result": "'TANDEM'"},
        {"code": "[1, 2, 3].map((n: number) => n * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 ?*"  # a glob, as IPython takes: only the first sample

    code_display_data = [
        {"code": "import * as tslab from 'tslab';\ntslab.display.html('<b>bold</b>')", "mime": "text/html"},
        {"code": "import { display, md } from '@tandem/kernel';\ndisplay(md('# Title'))", "mime": "text/markdown"},
    ]

    code_generate_error = "throw new Error('expected')"


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TandemKernelTests)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    describe = lambda found: [{"test": test.id(), "detail": detail} for test, detail in found]
    json.dump(
        {
            "ran": result.testsRun,
            "failures": describe(result.failures),
            "errors": describe(result.errors),
            "skipped": describe(result.skipped),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
