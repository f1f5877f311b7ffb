// Provenance in HDF5 files and YAML: what is written reads back field by field, a malformed
// /provenance is an input error naming the file, and the YAML form parses with the values given.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "io/h5.h"
#include "io/provenance.h"

namespace mt {
namespace {

Provenance sample() {
  RunStart a;
  a.step = 0;
  a.started = "2026-01-02T03:04:05Z";
  a.version = "0.1.0";
  a.git_revision = "abc1234";
  a.git_dirty = 0;
  a.build = "cuda=off mpi=on";
  a.binary = "/x/mutrain";
  a.binary_sha256 = std::string(64, 'a');
  a.command_line = "mutrain train 'my config.yaml'";
  a.hosts = "n1,n2";
  a.ranks = 4;
  a.threads = 2;
  a.slurm_job_id = "77";
  RunStart b = a;
  b.step = 40;
  b.git_revision = "def5678";
  b.git_dirty = 1;
  b.binary_sha256 = std::string(64, 'b');
  b.binary_change_allowed = 1;
  b.slurm_restart_count = "1";
  return {{a, b}, {{40, "optimizer.adamw.lr", "1e-3", "0.5", "--allow-change"}}};
}

std::string temp_file(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

TEST(Provenance, HdfRoundTrip) {
  const std::string path = temp_file("mt_provenance_test.h5");
  const Provenance p = sample();
  {
    h5::File f = h5::File::create(path);
    write_provenance(f.id(), p);
    write_provenance(f.id(), p);  // a second write replaces the first (a resumed metrics file)
  }
  h5::File f = h5::File::open(path, false, "test");
  const Provenance q = read_provenance(f.id(), path, "test");
  ASSERT_EQ(q.starts.size(), 2u);
  ASSERT_EQ(q.changes.size(), 1u);
  EXPECT_EQ(q.starts[1].step, 40);
  EXPECT_EQ(q.starts[0].git_revision, "abc1234");
  EXPECT_EQ(q.starts[1].git_revision, "def5678");
  EXPECT_EQ(q.starts[1].git_dirty, 1);
  EXPECT_EQ(q.starts[0].command_line, "mutrain train 'my config.yaml'");
  EXPECT_EQ(q.starts[0].hosts, "n1,n2");
  EXPECT_EQ(q.starts[0].ranks, 4);
  EXPECT_EQ(q.starts[0].threads, 2);
  EXPECT_EQ(q.starts[1].binary_sha256, std::string(64, 'b'));
  EXPECT_EQ(q.starts[1].binary_change_allowed, 1);
  EXPECT_EQ(q.starts[1].slurm_restart_count, "1");
  EXPECT_EQ(q.changes[0].step, 40);
  EXPECT_EQ(q.changes[0].key, "optimizer.adamw.lr");
  EXPECT_EQ(q.changes[0].old_value, "1e-3");
  EXPECT_EQ(q.changes[0].new_value, "0.5");
  // root attributes: the current (last) start
  EXPECT_EQ(h5::attr_string(f.id(), "/", "git_revision"), "def5678");
  EXPECT_EQ(h5::attr_int(f.id(), "/", "world_size"), 4);
  EXPECT_EQ(h5::attr_string(f.id(), "/", "slurm_job_id"), "77");
  EXPECT_FALSE(h5::has_attr(f.id(), "/", "slurm_array_task_id"));  // absent outside an array
  std::filesystem::remove(path);
}

TEST(Provenance, MissingIsEmptyMalformedIsRefused) {
  const std::string path = temp_file("mt_provenance_bad.h5");
  {
    h5::File f = h5::File::create(path);
    h5::set_attr(f.id(), "/", "kind", std::string("checkpoint"));
  }
  {
    h5::File f = h5::File::open(path, false, "test");
    EXPECT_TRUE(read_provenance(f.id(), path, "checkpoint").starts.empty());
  }
  {
    h5::File f = h5::File::open(path, true, "test");
    write_provenance(f.id(), sample());
    h5::write_strings(f.id(), "/provenance/hosts", {"only one row"}, "broken");
  }
  h5::File f = h5::File::open(path, false, "test");
  try {
    read_provenance(f.id(), path, "checkpoint");
    FAIL() << "a column of another length was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(e.component(), "checkpoint");
    EXPECT_NE(std::string(e.what()).find("hosts has 1 rows"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(Provenance, YamlParsesBack) {
  const YAML::Node y = YAML::Load(provenance_yaml(sample()));
  ASSERT_EQ(y["provenance"].size(), 2u);
  EXPECT_EQ(y["provenance"][1]["git_revision"].as<std::string>(), "def5678");
  EXPECT_EQ(y["provenance"][1]["step"].as<int>(), 40);
  EXPECT_EQ(y["provenance"][0]["command_line"].as<std::string>(), "mutrain train 'my config.yaml'");
  EXPECT_FALSE(y["provenance"][0]["slurm_array_job_id"]);  // empty SLURM fields left out
  EXPECT_EQ(y["config_changes"][0]["key"].as<std::string>(), "optimizer.adamw.lr");
  EXPECT_EQ(y["config_changes"][0]["old"].as<std::string>(), "1e-3");
}

TEST(Provenance, CodeIdentity) {
  RunStart s;
  s.git_revision = "abc1234";
  s.binary_sha256 = "0123456789abcdef";
  s.git_dirty = 0;
  EXPECT_EQ(s.code_identity(), "abc1234");  // a clean tree: the revision says it all
  s.git_dirty = 1;
  EXPECT_EQ(s.code_identity(), "abc1234-dirty@sha256:0123456789ab");
  EXPECT_EQ(s.revision_text(), "abc1234 (dirty)");
}

}  // namespace
}  // namespace mt
