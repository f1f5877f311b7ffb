// The YAML loader's pre-pass (duplicate keys, alias expansion, cycles, documents), the messages
// of --set and directories, and the run-name rule shared by every subcommand (io/run_name.h).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "io/config.h"
#include "io/run_name.h"

namespace mt {
namespace {

// The message of the input error `f` throws (exit code 2 checked); "" when it throws nothing.
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    return e.what();
  }
  return "";
}

// `levels` anchors, each a list of `fanout` aliases of the previous one: fanout^levels nodes.
std::string alias_bomb(int levels, int fanout) {
  std::string s = "a0: &a0 [x]\n";
  for (int l = 1; l <= levels; ++l) {
    s += "a" + std::to_string(l) + ": &a" + std::to_string(l) + " [";
    for (int k = 0; k < fanout; ++k) s += (k ? ", *a" : "*a") + std::to_string(l - 1);
    s += "]\n";
  }
  return s;
}

TEST(ConfigLoader, DuplicateKeyNamesBothLines) {
  const std::string m = refusal([] {
    Config::parse("name: a\nmodel: {name: gpt, width: 16}\nseed: 1\nmodel:\n  width: 32\n",
                  "c.yaml");
  });
  EXPECT_NE(m.find("[config] c.yaml line 4: duplicate key 'model' (first at line 2)"),
            std::string::npos)
      << m;
}

TEST(ConfigLoader, DuplicateKeyAtAnyDepth) {
  const std::string m = refusal([] {
    Config::parse("optimizer:\n  muon:\n    lr: 0.1\n    momentum: 0.9\n    lr: 0.2\n", "c.yaml");
  });
  EXPECT_NE(m.find("line 5: duplicate key 'optimizer.muon.lr' (first at line 3)"),
            std::string::npos)
      << m;
  // Inside a list, in a flow map, and quoted the same key is the same key.
  EXPECT_NE(
      refusal([] { Config::parse("grid: [{a: 1, a: 2}]"); }).find("duplicate key 'grid[0].a'"),
      std::string::npos);
  EXPECT_NE(refusal([] { Config::parse("a: 1\n\"a\": 2\n"); }).find("duplicate key 'a'"),
            std::string::npos);
  // An alias of a scalar used as a key counts as that key.
  EXPECT_NE(refusal([] { Config::parse("m: {&k lr: 1, *k : 2}"); }).find("duplicate key 'm.lr'"),
            std::string::npos);
  // The same key in different maps is fine.
  EXPECT_EQ(refusal([] { Config::parse("a: {lr: 1}\nb: {lr: 2}\nc: [{lr: 1}, {lr: 2}]\n"); }), "");
}

TEST(ConfigLoader, AliasBombIsRefusedFast) {
  for (int levels : {6, 10, 30}) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string m = refusal([&] { Config::parse(alias_bomb(levels, 9), "bomb.yaml"); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(m.find("aliases expand the document to more than 100000 nodes"), std::string::npos)
        << m;
    EXPECT_LT(s, 0.5) << levels << " levels";
  }
  // Ordinary use of anchors stays accepted and reads as a copy.
  Config c = Config::parse("base: &lr {lr: 0.5}\nx: *lr\n");
  EXPECT_EQ(c.section("x").get<double>("lr", 0.0), 0.5);
  EXPECT_EQ(refusal([] { Config::parse(alias_bomb(4, 9)); }), "");  // 6561 nodes
  // Without aliases the bound holds too (a very long list), with a message that does not blame
  // them.
  std::string list = "grid: [0";
  for (int i = 0; i < 100001; ++i) list += ",1";
  const std::string m = refusal([&] { Config::parse(list + "]\n"); });
  EXPECT_NE(m.find("the document holds more than 100000 nodes"), std::string::npos) << m;
}

TEST(ConfigLoader, AliasCycleAndDocumentsAndDepth) {
  EXPECT_NE(refusal([] { Config::parse("model: &a {name: gpt, inner: *a}"); }).find("a cycle"),
            std::string::npos);
  const std::string two = refusal([] { Config::parse("name: a\n---\nname: b\n", "c.yaml"); });
  EXPECT_NE(two.find("c.yaml line 2: a second YAML document"), std::string::npos) << two;
  std::string deep = "a: ";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  EXPECT_NE(refusal([&] { Config::parse(deep); }).find("nested more than 32 levels"),
            std::string::npos);
  EXPECT_NE(refusal([] { Config::parse("a: {b: 1"); }).find("malformed YAML"), std::string::npos);
}

TEST(ConfigLoader, OverridesGetTheSameChecks) {
  Config c = Config::parse("model: {width: 16}\n", "c.yaml");
  EXPECT_NE(refusal([&] {
              c.apply_override("model={width: 1, width: 2}");
            }).find("duplicate key 'width'"),
            std::string::npos);
  std::string bomb = "model=";
  for (char ch : alias_bomb(10, 9)) bomb += ch == '\n' ? ',' : ch;
  bomb = "model={" + bomb.substr(6) + "}";
  EXPECT_NE(refusal([&] { c.apply_override(bomb); }).find("more than 100000 nodes"),
            std::string::npos);
}

TEST(ConfigLoader, UnknownKeyFromSetSaysSo) {
  Config c = Config::parse("model: {width: 16}\n", "c.yaml");
  c.apply_override("modle.width=16");
  c.section("model").touch("width");
  const std::string m = refusal([&] { c.check_unused(); });
  EXPECT_NE(m.find("unknown key 'modle' (from --set)"), std::string::npos) << m;
  EXPECT_EQ(m.find("line 0"), std::string::npos) << m;
  // A key inside a --set value is from --set too (its mark is a line of the value, not the file).
  Config d = Config::parse("seed: 1\nmodel: {width: 16}\n", "c.yaml");
  d.apply_override("model={width: 8, foo: 2}");
  d.touch("seed");
  d.section("model").touch("width");
  const std::string n = refusal([&] { d.check_unused(); });
  EXPECT_NE(n.find("unknown key 'model.foo' (from --set)"), std::string::npos) << n;
}

TEST(ConfigLoader, DirectoryIsNotAConfig) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string m = refusal([&] { Config::load_file(dir); });
  EXPECT_NE(m.find("is a directory"), std::string::npos) << m;
  EXPECT_NE(refusal([] { Config::load_file("/nonexistent/c.yaml"); }).find("cannot open"),
            std::string::npos);
}

TEST(RunName, OneRuleForEveryName) {
  for (const char* ok : {"run", "tiny-2", "lr0.01_seed1", "a..b", "X"})
    EXPECT_EQ(run_name_problem(ok), "") << ok;
  for (const char* bad :
       {"", ".", "..", ".hidden", "../X", "a/b", "/abs", "my run", "a:b", "caf\xc3\xa9", "a\nb"})
    EXPECT_NE(run_name_problem(bad), "") << bad;
  EXPECT_NE(run_name_problem(std::string(129, 'a')), "");
  Config c = Config::parse("name: ../../../X\n", "c.yaml");
  const std::string m = refusal([&] { read_run_name(c, "name", "run"); });
  EXPECT_NE(m.find("[config] name: '../../../X' contains '/'"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml line 1"), std::string::npos) << m;
  EXPECT_EQ(path_under("runs", "tiny"), std::filesystem::path("runs/tiny"));
  EXPECT_EQ(path_under("runs/", "sweeps", "s"), std::filesystem::path("runs/sweeps/s"));
  EXPECT_EQ(path_under("", "tiny"), std::filesystem::path("tiny"));
  EXPECT_THROW(path_under("runs", ".."), Error);  // an internal check: callers validate first
  EXPECT_THROW(path_under("runs", "a/../../b"), Error);
}

}  // namespace
}  // namespace mt
