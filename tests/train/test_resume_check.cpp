// The checks before a run continues (train/resume_check.h): which config differences pass
// (docs/reproducibility.md's list), which are refused and how the refusal reads, --allow-change,
// and the comparison of the binary that wrote a checkpoint with this one.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "train/resume_check.h"

namespace mt {
namespace {

const char* kOld = R"(name: a
seed: 1
model: {name: gpt, width: 16, heads: 2}
optimizer:
  adamw: {lr: 1.0e-3, betas: [0.9, 0.999]}
train: {steps: 40, log_every: 10, threads: 1}
checkpoint: {every: 20}
dist: {shard_group_size: 2, timeout_s: 300}
)";

// kOld with the first `from` replaced by `to`.
std::string changed(const std::string& from, const std::string& to) {
  std::string s = kOld;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

ResumeOptions allow(const std::string& key) {
  ResumeOptions o;
  o.allow_change = {key};
  return o;
}

RunStart start(const std::string& sha) {
  RunStart s;
  s.git_revision = "abc1234";
  s.git_dirty = 0;
  s.binary = "/x/mutrain";
  s.binary_sha256 = sha;
  return s;
}

CheckpointRecord record(const std::string& sha = std::string(64, 'a')) {
  CheckpointRecord r;
  r.path = "runs/a/checkpoints/step_00000020.h5";
  r.config = kOld;
  r.step = 20;
  r.world_size = 2;
  r.provenance.starts.push_back(start(sha));
  return r;
}

// The [checkpoint] message of a refused resume ("" when accepted).
std::string refusal(const std::string& new_yaml, const ResumeOptions& opts = {},
                    int64_t ranks = 2) {
  RunStart now = start(std::string(64, 'a'));
  try {
    check_resume(record(), new_yaml, ranks, opts, now);
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.what();
  }
}

TEST(ResumeCheck, SameValueWrittenDifferentlyIsNoDifference) {
  EXPECT_TRUE(diff_configs(kOld, changed("lr: 1.0e-3", "lr: 0.001")).empty());
  EXPECT_TRUE(diff_configs(kOld, changed("[0.9, 0.999]", "[0.90, 9.99e-1]")).empty());
  const auto d = diff_configs(kOld, changed("lr: 1.0e-3", "lr: 0.002"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].key, "optimizer.adamw.lr");
  EXPECT_EQ(d[0].old_value, "1.0e-3");
  EXPECT_EQ(d[0].new_value, "0.002");
  const auto gone = diff_configs(kOld, changed("heads: 2", "heads: 2, bias: true"));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].key, "model.bias");
  EXPECT_EQ(gone[0].old_value, "(absent)");
}

TEST(ResumeCheck, ExperimentKeysAreRefusedAllListed) {
  EXPECT_EQ(refusal(kOld), "");
  std::string both = changed("seed: 1", "seed: 2");
  both.replace(both.find("lr: 1.0e-3"), 10, "lr: 0.5");
  const std::string m = refusal(both);
  EXPECT_EQ(m.rfind("[checkpoint] 'runs/a/checkpoints/step_00000020.h5' (step 20)", 0), 0u) << m;
  EXPECT_NE(m.find("optimizer.adamw.lr: 1.0e-3 -> 0.5"), std::string::npos) << m;
  EXPECT_NE(m.find("seed: 1 -> 2"), std::string::npos) << m;
  EXPECT_NE(m.find("--allow-change optimizer.adamw.lr,seed"), std::string::npos) << m;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"width: 16", "width: 32"},
           {"heads: 2", "heads: 4"},
           {"[0.9, 0.999]", "[0.9, 0.99]"},
           {"steps: 40", "steps: 30"},  // shortening is no extension
           {"shard_group_size: 2", "shard_group_size: 1"}})
    EXPECT_NE(refusal(changed(from, to)), "") << from << " -> " << to;
}

TEST(ResumeCheck, DocumentedKeysMayDiffer) {
  RunStart now = start(std::string(64, 'a'));
  std::string y = changed("name: a", "name: b");
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"log_every: 10", "log_every: 1"},
                                                        {"threads: 1", "threads: 4"},
                                                        {"every: 20", "every: 5, keep_last: 9"},
                                                        {"timeout_s: 300", "timeout_s: 30"},
                                                        {"steps: 40", "steps: 80"}})
    y.replace(y.find(from), from.size(), to);
  const std::vector<ConfigChange> c = check_resume(record(), y, 2, {}, now);
  ASSERT_EQ(c.size(), 7u);
  for (const ConfigChange& x : c) {
    EXPECT_EQ(x.accepted, "free") << x.key;
    EXPECT_EQ(x.step, 20);
  }
  // no shard groups on either side (the default: the number of ranks) on 4 ranks instead of 2
  EXPECT_EQ(refusal(changed("shard_group_size: 2", "shard_group_size: 4"), {}, 4), "");
}

TEST(ResumeCheck, AllowChangeAcceptsNamedKeysAndSections) {
  const std::string y = changed("lr: 1.0e-3", "lr: 0.5");
  EXPECT_EQ(refusal(y, allow("optimizer.adamw.lr")), "");
  EXPECT_EQ(refusal(y, allow("optimizer.adamw")), "");  // a section: every key in it
  EXPECT_NE(refusal(y, allow("optimizer.muon")), "");   // a key of neither config
  EXPECT_NE(refusal(y, allow("seed")), "");             // another key: lr still refused
  RunStart now = start(std::string(64, 'a'));
  const auto c = check_resume(record(), y, 2, allow("optimizer.adamw.lr"), now);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].accepted, "--allow-change");
  EXPECT_EQ(c[0].new_value, "0.5");
  try {
    check_allow_change_keys(allow("optimizer.adamw.lrr"), kOld);
    FAIL() << "an unknown key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.component(), "cli");
    EXPECT_EQ(e.code(), ExitCode::bad_input);
  }
}

TEST(ResumeCheck, AnotherBinaryIsRefusedUnlessAllowed) {
  RunStart now = start(std::string(64, 'b'));
  now.git_revision = "def5678";
  try {
    check_resume(record(), kOld, 2, {}, now);
    FAIL() << "another binary was accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.component(), "checkpoint");
    EXPECT_NE(m.find("git abc1234 (clean)"), std::string::npos) << m;
    EXPECT_NE(m.find("git def5678 (clean)"), std::string::npos) << m;
    EXPECT_NE(m.find("--allow-binary-change"), std::string::npos) << m;
  }
  ResumeOptions allow;
  allow.allow_binary_change = true;
  EXPECT_NO_THROW(check_resume(record(), kOld, 2, allow, now));
  EXPECT_EQ(now.binary_change_allowed, 1);
  CheckpointRecord old = record();
  old.provenance = {};  // written before provenance: nothing to compare
  RunStart other = start(std::string(64, 'c'));
  EXPECT_NO_THROW(check_resume(old, kOld, 2, {}, other));
}

TEST(ResumeCheck, StoredConfigMustBeReadable) {
  RunStart now = start(std::string(64, 'a'));
  CheckpointRecord r = record();
  r.config = "model: {name: gpt\n";
  try {
    check_resume(r, kOld, 2, {}, now);
    FAIL() << "an unreadable stored config was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.component(), "checkpoint");
    EXPECT_EQ(e.code(), ExitCode::bad_input);
  }
  r.config = "";
  EXPECT_THROW(check_resume(r, kOld, 2, {}, now), Error);
}

TEST(ResumeCheck, ExpectedBinary) {
  RunStart now = start(std::string(64, 'a'));
  ResumeOptions o;
  o.expect_binary = std::string(64, 'a');
  EXPECT_NO_THROW(check_expected_binary(o, now));
  o.expect_binary = std::string(64, 'b');
  try {
    check_expected_binary(o, now);
    FAIL() << "another binary than submitted was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.component(), "provenance");
  }
  o.allow_binary_change = true;
  EXPECT_NO_THROW(check_expected_binary(o, now));
  EXPECT_EQ(now.binary_change_allowed, 1);
}

}  // namespace
}  // namespace mt
