"""ftaudit reproducer: the shared_object pattern on mypy, 4 threads, seed 1.

Run it with the environment's own python. Exit status 1: the failure reproduced (the last line says what);
0: it did not this time; a crash ends it with the signal. Programs:
  mypy.applytype.AnyType methods
  mypy.applytype.TypeTranslator methods
  mypy.applytype.TypeVarId methods
  mypy.applytype.UninhabitedType methods
  mypy.binder.NoneType methods
  mypy.binder.Var methods
  mypy.build.FilesystemMetadataStore methods
  mypy.build.FuncDef methods
  mypy.build.LimitedVariableRenameVisitor methods
  mypy.build.SymbolTable methods
  mypy.build.VariableRenameVisitor methods
  mypy.checker.ComparisonExpr methods
  mypy.checker.DeletedType methods
  mypy.checker.DisjointDict methods
  mypy.checker.ErrorMessage methods
  mypy.checker.IterationDependentErrors methods
  mypy.checker.LambdaExpr methods
  mypy.checker.Scope methods
  mypy.checker.TransformVisitor methods
  mypy.checker.UnboundType methods
  mypy.checkexpr.ExtraAttrs methods
  mypy.checkexpr.TypeVarLikeScope methods
  mypy.dmypy_util.IPCBase methods
  mypy.exprtotype.RawExpressionType methods
  mypy.fastparse.TypeConverter methods
  mypy.join.SubtypeContext methods
  mypy.mixedtraverser.MixedTraverserVisitor methods
  mypy.nodes.DataclassTransformSpec methods
  mypy.partially_defined.BranchState methods
  mypy.partially_defined.BranchStatement methods
  mypy.partially_defined.DefinedVariableTracker methods
  mypy.report.CoberturaPackage methods
  mypy.applytype.get_proper_type (shared input)
  mypy.binder.extract_var_from_literal_hash (shared input)
  mypy.binder.subkeys (shared input)
  mypy.build.compute_hash (shared input)
  mypy.build.decode_python_encoding (shared input)
  mypy.build.get_mypy_comments (shared input)
  mypy.build.hash_digest (shared input)
  mypy.build.hash_digest_bytes (shared input)
"""

import importlib
import json
import random
import re
import sys
import threading
import time
import types

ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
INTERNAL = ("SystemError", "MemoryError", "AssertionError", "PanicException")
NOT_SHAREABLE = re.compile(r"already (mutably )?borrowed|borrowed mutably|not thread.?safe|"
                           r"concurrent (use|access|call)|in use by another thread", re.I)
NULLARY = re.compile(r"^([A-Za-z_][\w.]*)\(\)$")
PLAIN_RACE = re.compile(r"changed size during iteration|mutated during iteration|"
                        r"modified during iteration|generator already executing", re.I)


SCRATCH = __import__("os").getcwd()
PID = __import__("os").getpid()


def masked(value):
    """A result's repr with what differs from process to process masked: memory addresses, this
    process's scratch folder (its working folder, HOME and TMPDIR live there) and its pid; cut
    to a sane length."""
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr raised {type(exc).__name__}>"
    text = text.replace(SCRATCH, "<scratch>") if SCRATCH != "/" else text
    return re.sub(rf"\b{PID}\b", "<pid>", ADDRESS.sub("0x?", text))[:400]


def fresh(program):
    ns = {"__name__": "ftaudit_program"}
    for name in program["imports"]:
        ns[name.split(".")[0]] = importlib.import_module(name.split(".")[0])
        importlib.import_module(name)
    for line in program["setup"]:
        exec(line, ns)
    return ns


def evaluate(call, ns):
    """(masked result, None) or ('!Type', (type, message))."""
    try:
        return masked(eval(call, ns)), None
    except Exception as exc:
        return "!" + type(exc).__name__, (type(exc).__name__, str(exc)[:500])


def kind_of(error, shared):
    """An exception seen only under threads. On one shared object, a clean exception is what a
    plain Python object may raise under the same race (a note); only internal errors and
    "already borrowed" count. Without sharing, any exception is a wrong result."""
    name, message = error
    if name in INTERNAL:
        return "internal_error"
    if NOT_SHAREABLE.search(message):
        return "not_shareable" if shared else "internal_error"
    if shared or PLAIN_RACE.search(message):
        return "note"
    return "wrong_result"


def observer(call, ns):
    """A module-level function called without arguments: it reads process state."""
    match = NULLARY.match(call)
    if not match:
        return False
    try:
        target = eval(match.group(1), ns)
    except Exception:
        return False
    if isinstance(target, type):
        return False
    head = match.group(1).split(".")[0]
    return "." not in match.group(1) or isinstance(ns.get(head), types.ModuleType)


RANK = {"internal_error": 4, "wrong_result": 3, "not_shareable": 2, "note": 1}
failures = []
serious = []  # failures other than notes: 20 of them end the run early, notes never do
lock = threading.Lock()


def fail(kind, program, call, expected=None, got=None, error=None):
    with lock:
        if kind == "note" and len(failures) - len(serious) >= 5:
            return
        if kind != "note":
            serious.append(kind)
        failures.append({"kind": kind, "program": program["label"], "call": call,
                         "expected": expected, "got": got,
                         "exception": error[0] if error else None,
                         "message": error[1] if error else None})


def threads_run(body):
    barrier = threading.Barrier(THREADS)
    deadline = []

    def go(k):
        barrier.wait()
        if not deadline:
            deadline.append(time.monotonic() + DURATION)
        rng = random.Random(SEED * 1000 + k)
        rounds = 0
        while rounds == 0 or (time.monotonic() < deadline[0] and len(serious) < 20):
            body(k, rng)
            rounds += 1

    workers = [threading.Thread(target=go, args=(k,)) for k in range(THREADS)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def check(program, ns, results, errors):
    for call, want, got, error in zip(program["calls"], program["expected"], results, errors):
        if got != want and error is None and (not program.get("compare", True) or observer(call, ns)):
            continue
        if got != want:
            if error is not None:
                # A program whose results are not compared (random draws, objects bound to one
                # data file) shares state by design: a clean exception there is a note.
                fail(kind_of(error, not program.get("compare", True)), program, call, want, got, error)
            else:
                fail("wrong_result", program, call, want, got)
            return


def summary():
    if not failures:
        return {"failed": False, "kind": None, "pattern": PATTERN, "failures": 0}
    worst = max(failures, key=lambda f: RANK[f["kind"]])
    return dict(worst, failed=True, pattern=PATTERN, failures=len(failures))

PATTERN = 'shared_object'
THREADS = 4
SEED = 1
if __name__ == '__main__' and len(sys.argv) > 1:
    THREADS = int(sys.argv[1])
DURATION = 1.0
FEEDS = 400
PROGRAMS = json.loads("[\n {\n  \"label\": \"mypy.applytype.AnyType methods\",\n  \"imports\": [\n   \"mypy.applytype\"\n  ],\n  \"setup\": [\n   \"obj = mypy.applytype.AnyType(3)\"\n  ],\n  \"calls\": [\n   \"obj.copy_modified()\",\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"Any\",\n   \"{'.class': 'AnyType', 'type_of_any': 3, 'source_any': None, 'missing_import_name': None}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.applytype.TypeTranslator methods\",\n  \"imports\": [\n   \"mypy.applytype\"\n  ],\n  \"setup\": [\n   \"obj = mypy.applytype.TypeTranslator()\"\n  ],\n  \"calls\": [\n   \"obj.translate_variables(3)\"\n  ],\n  \"expected\": [\n   \"3\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.applytype.TypeVarId methods\",\n  \"imports\": [\n   \"mypy.applytype\"\n  ],\n  \"setup\": [\n   \"obj = mypy.applytype.TypeVarId(3)\"\n  ],\n  \"calls\": [\n   \"obj.is_meta_var()\",\n   \"obj.is_self()\"\n  ],\n  \"expected\": [\n   \"False\",\n   \"False\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.applytype.UninhabitedType methods\",\n  \"imports\": [\n   \"mypy.applytype\"\n  ],\n  \"setup\": [\n   \"obj = mypy.applytype.UninhabitedType()\"\n  ],\n  \"calls\": [\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"{'.class': 'UninhabitedType'}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.binder.NoneType methods\",\n  \"imports\": [\n   \"mypy.binder\"\n  ],\n  \"setup\": [\n   \"obj = mypy.binder.NoneType()\"\n  ],\n  \"calls\": [\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"{'.class': 'NoneType'}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.binder.Var methods\",\n  \"imports\": [\n   \"mypy.binder\"\n  ],\n  \"setup\": [\n   \"obj = mypy.binder.Var('abc')\"\n  ],\n  \"calls\": [\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"{'.class': 'Var', 'name': 'abc', 'fullname': '', 'type': None, 'setter_type': None, 'flags': ['is_ready', 'is_inferred']}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.FilesystemMetadataStore methods\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"obj = mypy.build.FilesystemMetadataStore('abc')\"\n  ],\n  \"calls\": [\n   \"obj.close()\",\n   \"obj.commit()\",\n   \"obj.list_all()\"\n  ],\n  \"expected\": [\n   \"None\",\n   \"None\",\n   \"<mypy.metastore.list_all_FilesystemMetadataStore_gen object at 0x?>\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.FuncDef methods\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"obj = mypy.build.FuncDef()\"\n  ],\n  \"calls\": [\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"{'.class': 'FuncDef', 'name': '', 'fullname': '', 'arg_names': [], 'arg_kinds': [], 'type': None, 'flags': [], 'abstract_status': 0, 'dataclass_transform_spec': None, 'deprecated': None, 'original_first_arg': None}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.LimitedVariableRenameVisitor methods\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"obj = mypy.build.LimitedVariableRenameVisitor()\"\n  ],\n  \"calls\": [\n   \"obj.enter_scope()\"\n  ],\n  \"expected\": [\n   \"<contextlib._GeneratorContextManager object at 0x?>\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.SymbolTable methods\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"obj = mypy.build.SymbolTable()\"\n  ],\n  \"calls\": [\n   \"obj.copy()\",\n   \"obj.serialize('abc')\"\n  ],\n  \"expected\": [\n   \"{}\",\n   \"{'.class': 'SymbolTable'}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.VariableRenameVisitor methods\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"obj = mypy.build.VariableRenameVisitor()\"\n  ],\n  \"calls\": [\n   \"obj.enter_block()\",\n   \"obj.enter_loop()\",\n   \"obj.enter_scope(3)\",\n   \"obj.enter_try()\",\n   \"obj.is_nested()\"\n  ],\n  \"expected\": [\n   \"<contextlib._GeneratorContextManager object at 0x?>\",\n   \"<contextlib._GeneratorContextManager object at 0x?>\",\n   \"<contextlib._GeneratorContextManager object at 0x?>\",\n   \"<contextlib._GeneratorContextManager object at 0x?>\",\n   \"0\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.ComparisonExpr methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.ComparisonExpr([1, 2, 3], [1, 2, 3])\"\n  ],\n  \"calls\": [\n   \"obj.pairwise()\"\n  ],\n  \"expected\": [\n   \"<mypy.nodes.pairwise_ComparisonExpr_gen object at 0x?>\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.DeletedType methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.DeletedType()\"\n  ],\n  \"calls\": [\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"{'.class': 'DeletedType', 'source': None}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.DisjointDict methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.DisjointDict()\"\n  ],\n  \"calls\": [\n   \"obj.items()\"\n  ],\n  \"expected\": [\n   \"[]\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.ErrorMessage methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.ErrorMessage('abc')\"\n  ],\n  \"calls\": [\n   \"obj.format()\",\n   \"obj.with_additional_msg('abc')\"\n  ],\n  \"expected\": [\n   \"<mypy.message_registry.ErrorMessage object at 0x?>\",\n   \"<mypy.message_registry.ErrorMessage object at 0x?>\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.IterationDependentErrors methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.IterationDependentErrors()\"\n  ],\n  \"calls\": [\n   \"obj.yield_nonoverlapping_types()\",\n   \"obj.yield_revealed_type_infos()\",\n   \"obj.yield_uselessness_error_infos()\"\n  ],\n  \"expected\": [\n   \"<mypy.errors.yield_nonoverlapping_types_IterationDependentErrors_gen object at 0x?>\",\n   \"<mypy.errors.yield_revealed_type_infos_IterationDependentErrors_gen object at 0x?>\",\n   \"<mypy.errors.yield_uselessness_error_infos_IterationDependentErrors_gen object at 0x?>\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.LambdaExpr methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.LambdaExpr()\"\n  ],\n  \"calls\": [\n   \"obj.is_dynamic()\"\n  ],\n  \"expected\": [\n   \"False\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.Scope methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.Scope()\"\n  ],\n  \"calls\": [\n   \"obj.current_function_name()\",\n   \"obj.current_type_name()\",\n   \"obj.module_scope('abc')\",\n   \"obj.outer_functions()\"\n  ],\n  \"expected\": [\n   \"None\",\n   \"None\",\n   \"<contextlib._GeneratorContextManager object at 0x?>\",\n   \"[]\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.TransformVisitor methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.TransformVisitor()\"\n  ],\n  \"calls\": [\n   \"obj.optional_block(None)\",\n   \"obj.optional_expr(None)\",\n   \"obj.optional_type(None)\"\n  ],\n  \"expected\": [\n   \"None\",\n   \"None\",\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checker.UnboundType methods\",\n  \"imports\": [\n   \"mypy.checker\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checker.UnboundType('abc')\"\n  ],\n  \"calls\": [\n   \"obj.copy_modified()\",\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"abc?\",\n   \"{'.class': 'UnboundType', 'name': 'abc', 'args': [], 'expr': None, 'expr_fallback': None}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checkexpr.ExtraAttrs methods\",\n  \"imports\": [\n   \"mypy.checkexpr\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checkexpr.ExtraAttrs({'a': 1})\"\n  ],\n  \"calls\": [\n   \"obj.copy()\"\n  ],\n  \"expected\": [\n   \"ExtraAttrs({'a': 1}, set(), None)\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.checkexpr.TypeVarLikeScope methods\",\n  \"imports\": [\n   \"mypy.checkexpr\"\n  ],\n  \"setup\": [\n   \"obj = mypy.checkexpr.TypeVarLikeScope()\"\n  ],\n  \"calls\": [\n   \"obj.allow_binding('abc')\",\n   \"obj.class_frame('abc')\",\n   \"obj.get_binding('abc')\",\n   \"obj.get_function_scope()\",\n   \"obj.method_frame('abc')\",\n   \"obj.new_unique_func_id()\"\n  ],\n  \"expected\": [\n   \"True\",\n   \"<mypy.tvar_scope.TypeVarLikeScope object at 0x?>\",\n   \"None\",\n   \"<mypy.tvar_scope.TypeVarLikeScope object at 0x?>\",\n   \"<mypy.tvar_scope.TypeVarLikeScope object at 0x?>\",\n   \"-1\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.dmypy_util.IPCBase methods\",\n  \"imports\": [\n   \"mypy.dmypy_util\"\n  ],\n  \"setup\": [\n   \"obj = mypy.dmypy_util.IPCBase('abc', 3)\"\n  ],\n  \"calls\": [\n   \"obj.frame_from_buffer()\"\n  ],\n  \"expected\": [\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.exprtotype.RawExpressionType methods\",\n  \"imports\": [\n   \"mypy.exprtotype\"\n  ],\n  \"setup\": [\n   \"obj = mypy.exprtotype.RawExpressionType('abc', 'abc')\"\n  ],\n  \"calls\": [\n   \"obj.simple_name()\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.fastparse.TypeConverter methods\",\n  \"imports\": [\n   \"mypy.fastparse\"\n  ],\n  \"setup\": [\n   \"obj = mypy.fastparse.TypeConverter(None)\"\n  ],\n  \"calls\": [\n   \"obj.convert_column(3)\",\n   \"obj.invalid_type(3)\",\n   \"obj.numeric_type(3, 3)\",\n   \"obj.translate_argument_list('abc')\",\n   \"obj.translate_expr_list('abc')\",\n   \"obj.visit(3)\",\n   \"obj.visit_Slice(3)\"\n  ],\n  \"expected\": [\n   \"3\",\n   \"None\",\n   \"3\",\n   \"<TypeList None, None, None>\",\n   \"[None, None, None]\",\n   \"None\",\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.join.SubtypeContext methods\",\n  \"imports\": [\n   \"mypy.join\"\n  ],\n  \"setup\": [\n   \"obj = mypy.join.SubtypeContext()\"\n  ],\n  \"calls\": [\n   \"obj.check_context(True)\"\n  ],\n  \"expected\": [\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.mixedtraverser.MixedTraverserVisitor methods\",\n  \"imports\": [\n   \"mypy.mixedtraverser\"\n  ],\n  \"setup\": [\n   \"obj = mypy.mixedtraverser.MixedTraverserVisitor()\"\n  ],\n  \"calls\": [\n   \"obj.visit_optional_type(None)\"\n  ],\n  \"expected\": [\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.nodes.DataclassTransformSpec methods\",\n  \"imports\": [\n   \"mypy.nodes\"\n  ],\n  \"setup\": [\n   \"obj = mypy.nodes.DataclassTransformSpec()\"\n  ],\n  \"calls\": [\n   \"obj.deserialize({'a': 1})\",\n   \"obj.serialize()\"\n  ],\n  \"expected\": [\n   \"<mypy.nodes.DataclassTransformSpec object at 0x?>\",\n   \"{'eq_default': True, 'order_default': False, 'kw_only_default': False, 'frozen_default': False, 'field_specifiers': []}\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.partially_defined.BranchState methods\",\n  \"imports\": [\n   \"mypy.partially_defined\"\n  ],\n  \"setup\": [\n   \"obj = mypy.partially_defined.BranchState()\"\n  ],\n  \"calls\": [\n   \"obj.copy()\"\n  ],\n  \"expected\": [\n   \"<mypy.partially_defined.BranchState object at 0x?>\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.partially_defined.BranchStatement methods\",\n  \"imports\": [\n   \"mypy.partially_defined\"\n  ],\n  \"setup\": [\n   \"obj = mypy.partially_defined.BranchStatement()\"\n  ],\n  \"calls\": [\n   \"obj.copy()\",\n   \"obj.done()\",\n   \"obj.is_defined_in_a_branch('abc')\",\n   \"obj.is_possibly_undefined('abc')\",\n   \"obj.is_undefined('abc')\",\n   \"obj.next_branch()\",\n   \"obj.record_definition('abc')\",\n   \"obj.skip_branch()\"\n  ],\n  \"expected\": [\n   \"<mypy.partially_defined.BranchStatement object at 0x?>\",\n   \"<mypy.partially_defined.BranchState object at 0x?>\",\n   \"False\",\n   \"False\",\n   \"True\",\n   \"None\",\n   \"None\",\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.partially_defined.DefinedVariableTracker methods\",\n  \"imports\": [\n   \"mypy.partially_defined\"\n  ],\n  \"setup\": [\n   \"obj = mypy.partially_defined.DefinedVariableTracker()\"\n  ],\n  \"calls\": [\n   \"obj.copy()\",\n   \"obj.is_defined_in_different_branch('abc')\",\n   \"obj.is_possibly_undefined('abc')\",\n   \"obj.is_undefined('abc')\",\n   \"obj.pop_undefined_ref('abc')\",\n   \"obj.record_definition('abc')\",\n   \"obj.skip_branch()\"\n  ],\n  \"expected\": [\n   \"<mypy.partially_defined.DefinedVariableTracker object at 0x?>\",\n   \"False\",\n   \"False\",\n   \"True\",\n   \"set()\",\n   \"None\",\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.report.CoberturaPackage methods\",\n  \"imports\": [\n   \"mypy.report\"\n  ],\n  \"setup\": [\n   \"obj = mypy.report.CoberturaPackage('abc')\"\n  ],\n  \"calls\": [\n   \"obj.add_packages(3)\"\n  ],\n  \"expected\": [\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.applytype.get_proper_type (shared input)\",\n  \"imports\": [\n   \"mypy.applytype\"\n  ],\n  \"setup\": [\n   \"arg0 = None\"\n  ],\n  \"calls\": [\n   \"mypy.applytype.get_proper_type(arg0)\"\n  ],\n  \"expected\": [\n   \"None\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.binder.extract_var_from_literal_hash (shared input)\",\n  \"imports\": [\n   \"mypy.binder\"\n  ],\n  \"setup\": [\n   \"arg0 = (1, 2)\"\n  ],\n  \"calls\": [\n   \"mypy.binder.extract_var_from_literal_hash(arg0)\"\n  ],\n  \"expected\": [\n   \"None\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.binder.subkeys (shared input)\",\n  \"imports\": [\n   \"mypy.binder\"\n  ],\n  \"setup\": [\n   \"arg0 = (1, 2)\"\n  ],\n  \"calls\": [\n   \"mypy.binder.subkeys(arg0)\"\n  ],\n  \"expected\": [\n   \"[]\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.compute_hash (shared input)\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"mypy.build.compute_hash(arg0)\"\n  ],\n  \"expected\": [\n   \"'a9993e364706816aba3e25717850c26c9cd0d89d'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.decode_python_encoding (shared input)\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"arg0 = b'abc'\"\n  ],\n  \"calls\": [\n   \"mypy.build.decode_python_encoding(arg0)\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.get_mypy_comments (shared input)\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"mypy.build.get_mypy_comments(arg0)\"\n  ],\n  \"expected\": [\n   \"[]\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.hash_digest (shared input)\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"arg0 = b'abc'\"\n  ],\n  \"calls\": [\n   \"mypy.build.hash_digest(arg0)\"\n  ],\n  \"expected\": [\n   \"'a9993e364706816aba3e25717850c26c9cd0d89d'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"mypy.build.hash_digest_bytes (shared input)\",\n  \"imports\": [\n   \"mypy.build\"\n  ],\n  \"setup\": [\n   \"arg0 = b'abc'\"\n  ],\n  \"calls\": [\n   \"mypy.build.hash_digest_bytes(arg0)\"\n  ],\n  \"expected\": [\n   \"b'\\\\xa9\\\\x99>6G\\\\x06\\\\x81j\\\\xba>%qxP\\\\xc2l\\\\x9c\\\\xd0\\\\xd8\\\\x9d'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n }\n]")

def run():
    shared = [fresh(p) for p in PROGRAMS]
    def body(k, rng):
        for program, ns in zip(PROGRAMS, shared):
            calls = list(program["calls"])
            rng.shuffle(calls)
            for call in calls:
                got, error = evaluate(call, ns)
                if error is not None and not got in program["expected"]:
                    fail(kind_of(error, True), program, call, None, got, error)
    threads_run(body)
    return summary()


if __name__ == "__main__":
    # The expected results were recorded with hash seed 0: set and dict reprs order str keys by
    # their hash, so this script runs with the same seed (it starts itself again if need be).
    import os
    if sys.flags.hash_randomization and not sys.flags.ignore_environment:
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    # A run that hangs leaves every thread's stack on stderr before it is stopped.
    import faulthandler
    faulthandler.enable()
    faulthandler.dump_traceback_later(45, exit=False)
    result = run()
    print("FTAUDIT-RESULT " + json.dumps(result), flush=True)
    sys.exit(1 if result["failed"] and result["kind"] != "note" else 0)
