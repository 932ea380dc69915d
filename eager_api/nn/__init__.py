"""``torch.nn`` for dualflow: ``import eager_api.nn as nn``."""
from core import errors as _errors
from eager_api.nn import functional, init, parallel, utils
from eager_api.nn.modules import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss, BCEWithLogitsLoss,
                                  Conv2d, ConvTranspose2d, CrossEntropyLoss, Dropout, Dropout2d, ELU, Embedding,
                                  Flatten, GELU, GroupNorm, Hardsigmoid, Hardswish, Hardtanh, HuberLoss, Identity,
                                  KLDivLoss, L1Loss, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, Mish, Module,
                                  ModuleDict, ModuleList, MSELoss, NLLLoss, Parameter, ReLU, ReLU6, SELU, Sequential,
                                  Sigmoid, SiLU, SmoothL1Loss, Softmax, Softplus, Tanh, Upsample)
from eager_api.nn.modules import (AvgPool1d, CELU, CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, Conv1d,
                                  GLU, Hardshrink, InstanceNorm1d, InstanceNorm2d, LogSigmoid, MaxPool1d, PixelShuffle,
                                  PixelUnshuffle, PReLU, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
                                  ReplicationPad2d, Softmin, Softshrink, Softsign, Tanhshrink, Threshold, Unflatten,
                                  ZeroPad1d, ZeroPad2d)
from eager_api.nn.modules import (AdaptiveAvgPool1d, AdaptiveMaxPool2d, ChannelShuffle, CosineEmbeddingLoss,
                                  CosineSimilarity, Dropout1d, GaussianNLLLoss, LocalResponseNorm, MarginRankingLoss,
                                  MultiLabelSoftMarginLoss, PairwiseDistance, ParameterDict, ParameterList,
                                  PoissonNLLLoss, TripletMarginLoss)
from eager_api.nn.modules import Fold, Unfold
from eager_api.nn.modules import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell, RNNCellBase
from eager_api.nn.modules import MultiheadAttention, RMSNorm
from eager_api.nn.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                      TransformerEncoderLayer)
from eager_api.nn.modules import Softmax2d, UpsamplingBilinear2d, UpsamplingNearest2d
from eager_api.nn.parallel import DataParallel

__all__ = ["functional", "init", "parallel", "utils", "DataParallel", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "Dropout",
           "Dropout2d", "ELU", "Embedding", "GELU", "Flatten", "Identity", "L1Loss", "LeakyReLU", "Linear",
           "LogSoftmax", "MaxPool2d", "Module", "ModuleDict", "ModuleList", "MSELoss", "NLLLoss", "Parameter", "ReLU",
           "Sequential", "Sigmoid", "Softmax", "Tanh", "Upsample", "HuberLoss", "KLDivLoss", "SmoothL1Loss",
           "GroupNorm", "Hardsigmoid", "Hardswish", "Hardtanh", "LayerNorm", "Mish", "ReLU6", "SELU", "SiLU",
           "Softplus", "AvgPool1d", "Conv1d", "MaxPool1d", "CELU", "CircularPad1d", "CircularPad2d", "ConstantPad1d",
           "ConstantPad2d", "GLU", "Hardshrink", "InstanceNorm1d", "InstanceNorm2d", "LogSigmoid", "PixelShuffle",
           "PixelUnshuffle", "PReLU", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
           "Softmin", "Softshrink", "Softsign", "Tanhshrink", "Threshold", "Unflatten", "ZeroPad1d", "ZeroPad2d"]

from eager_api.nn import parallel  # noqa: E402  (needs Module)

__all__ += ["parallel", "AdaptiveAvgPool1d", "AdaptiveMaxPool2d", "ChannelShuffle", "CosineEmbeddingLoss",
            "CosineSimilarity", "Dropout1d", "GaussianNLLLoss", "LocalResponseNorm", "MarginRankingLoss",
            "MultiLabelSoftMarginLoss", "PairwiseDistance", "ParameterDict", "ParameterList", "PoissonNLLLoss",
            "TripletMarginLoss", "Fold", "Unfold", "Softmax2d", "UpsamplingBilinear2d", "UpsamplingNearest2d", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase",
            "RNNCell", "RNNCellBase", "MultiheadAttention", "RMSNorm", "Transformer", "TransformerDecoder",
            "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer"]


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
