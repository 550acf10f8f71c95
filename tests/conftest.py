"""Settings shared by the whole test suite."""

import torch

# The tests run tiny tensors, where a second intra-op thread only adds
# contention, most of all when other processes share the two CI cores.
torch.set_num_threads(1)
