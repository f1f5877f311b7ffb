// mutrain: the single CLI (train, ...). Placeholder until the trainer lands.
#include "apps/builtins.h"
int main() {
  mt::register_builtins();
  return 0;
}
