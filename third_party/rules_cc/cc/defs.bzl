"""Offline stand-in for @rules_cc (Debian's bazel-rules-cc 0.0.4 is incompatible with Bazel 4.2.3).

Forwards to the native rules, like mock_repos/rules_cc in bazel-bootstrap-source.
"""

def cc_binary(**kw):
    native.cc_binary(**kw)

def cc_library(**kw):
    native.cc_library(**kw)

def cc_test(**kw):
    native.cc_test(**kw)

def objc_library(**kw):
    native.objc_library(**kw)

def cc_proto_library(**kw):
    native.cc_proto_library(**kw)

def cc_toolchain(**kw):
    native.cc_toolchain(**kw)

def cc_toolchain_suite(**kw):
    native.cc_toolchain_suite(**kw)
