// Run: what a training run is built from (docs/design.md "Building a run"): the config sections,
// the dataset, model, optimizers, schedule, the ShardPlan and the laid-out, initialised
// parameters, and the statistics. Built once, identically on every rank; the Trainer's parts
// (StepRunner, Checkpointer, RunLoop) work on it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "dist/communicator.h"
#include "dist/shard_plan.h"
#include "io/config.h"
#include "io/provenance.h"
#include "mup/parametrization.h"
#include "nn/model.h"
#include "nn/parameter_set.h"
#include "optim/optimizer_set.h"
#include "stats/stats.h"
#include "train/evaluate.h"
#include "train/schedule.h"
#include "train/train_options.h"

namespace mt {

struct Run {
  // Reads every section of `root` (unknown keys are errors) and builds the run; writes nothing.
  Run(Config root, Communicator& comm, std::string out_root);
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // Validation over up to max_batches batches (0: the whole split). progress: rank 0 prints
  // where it is (a line every ~10 s), for the long final one.
  EvalResult validate(int64_t max_batches, bool progress = false);
  int rank() const { return comm.rank(); }
  // Shard groups (dist.shard_group_size G, docs/scaling.md "Shard groups"): the world's P ranks
  // form P / G groups of G consecutive ranks; each group holds the whole ShardPlan (over G), and
  // the ranks with the same place in their groups (one per group) sum their owned gradients
  // across the groups. G = P (the default): one group, the world itself.
  // The ranks that share one ShardPlan (host side: checkpoints, statistics, ownership).
  Communicator& group() { return group_comm ? *group_comm : comm; }
  // This rank's place in its group: the owner index the ShardPlan uses.
  int shard_rank() const { return group_comm ? group_comm->rank() : comm.rank(); }
  // The same place in every group (null with one group): the cross-group gradient sum.
  Communicator* cross() { return cross_comm.get(); }
  // The communicator of the flat parameter / gradient buffers: NCCL for cuda with P > 1, else the
  // group's.
  Communicator& buffer_comm() { return device_comm ? *device_comm : group(); }
  // Payload bytes this rank has passed to every communicator of the run.
  int64_t bytes_sent() const;

  Config root;
  Communicator& comm;
  std::unique_ptr<Communicator> group_comm, cross_comm;  // dist.shard_group_size < P
  std::unique_ptr<Communicator> device_comm;  // make_device_communicator(comm, opts.device)
  std::string out_root, name;
  uint64_t seed = 0;
  TrainOptions opts;
  CheckpointOptions ckpt;
  StatsOptions stats_opts;
  std::unique_ptr<Dataset> data;
  Parametrization pz;
  std::unique_ptr<Model> model;
  std::unique_ptr<OptimizerSet> optimizers;
  std::unique_ptr<Schedule> schedule;
  ShardPlan plan;
  std::unique_ptr<ParameterSet> params;
  std::unique_ptr<StabilityStats> stats;  // null with stats.every = 0
  // Who trained the run, from which steps, with which accepted config changes (every start;
  // set by Trainer::run before the first step, carried by checkpoints; docs/reproducibility.md).
  Provenance provenance;
  int64_t seq = 1;  // context length (1 for feature models)
  // dist.overlap: gradients reduced to their owners during the backward pass (docs/scaling.md)
  bool overlap = false;
  // dist.update_buckets: with dist.overlap, the owners' update runs in this many parts of about
  // equal cost, each part's all-gather started as soon as it is done (docs/scaling.md)
  int64_t update_buckets = 4;
  // dist.update_on_arrival: with dist.overlap, each owned tensor is updated as soon as its reduced
  // gradient has arrived, while the other reduces are still in flight (docs/scaling.md)
  bool update_on_arrival = true;

 private:
  ShardPolicy read_sections();
  void lay_out_parameters(ShardPolicy policy);
  void build_stats();
};

}  // namespace mt
