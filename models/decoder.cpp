// The shape keys the decoder models share (models/decoder.h).
#include "models/decoder.h"

namespace mt {

DecoderShape read_decoder_shape(const Config& c, const ModelInputs& in, const char* model,
                                int64_t min_width) {
  if (in.data.vocab_size <= 0)
    input_error("model", model,
                " needs a token dataset (data with a vocabulary), got: ", in.data.description);
  DecoderShape s;
  s.vocab = in.data.vocab_size;
  s.width = c.get_in("width", int64_t{128}, min_width, int64_t{1} << 20);
  s.depth = c.get_in("depth", int64_t{4}, int64_t{1}, int64_t{1024});
  s.heads = c.get_in("heads", int64_t{4}, int64_t{1}, int64_t{4096});
  s.context = c.get_in("context", int64_t{128}, int64_t{1}, int64_t{1} << 20);
  if (s.width % s.heads != 0)
    c.fail("heads", cat("width ", s.width, " is not divisible by heads ", s.heads));
  return s;
}

}  // namespace mt
