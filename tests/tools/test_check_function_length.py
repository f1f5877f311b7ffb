"""tests/tools/check_function_length.py finds functions by their braces and measures them: a function
one line over the limit is caught, one at the limit passes; lambdas, blocks, braces in strings and
comments, classes and namespaces do not confuse it; and apps/ keeps to 60 lines."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import check_function_length as cfl  # noqa: E402


def function(name, lines, indent=""):
    """A function of exactly `lines` lines (signature to closing brace)."""
    body = [f"{indent}  int x{i} = {i};" for i in range(lines - 2)]
    return "\n".join([f"{indent}int {name}(int a) {{"] + body + [f"{indent}}}"]) + "\n"


def test_over_and_at_the_limit(tmp_path):
    text = ("namespace mt::cli {\nnamespace {\n" + function("at_limit", 60) + "}  // namespace\n"
            + function("over", 61) + "}\n")
    found = {sig.split("(")[0].split()[-1]: last - first + 1
             for first, last, sig in cfl.functions(text)}
    assert found == {"at_limit": 60, "over": 61}
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "cli_x.cpp").write_text(text)
    problems = cfl.check(str(tmp_path))
    assert len(problems) == 1 and problems[0].startswith("apps/cli_x.cpp:") and "61 lines" in problems[0]


def test_lambdas_blocks_literals_and_members():
    text = '''// a comment with { braces }
struct Args {
  int n = 0;
  int get() const { return n; }
};
class Runner : public Base {
 public:
  Runner(int a, int b)
      : m_a(a),
        m_b(b) {
    init();
  }
  void run() override;
};
int go(const std::vector<int>& v) {
  auto f = [&](int x) {
    if (x) { return "}{"; }
    return R"({ raw })";
  };
  const char c = '{';
  for (int x : v) {
    f(x);
  }
  return 0;
}
'''
    found = [(first, last) for first, last, _ in cfl.functions(text)]
    assert found == [(4, 4), (8, 12), (15, 25)], found


def test_the_apps_keep_to_60_lines():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    assert cfl.check(root, ("apps",), 60) == []
