"""``torch.nn`` for dualflow: ``import eager_api.nn as nn``."""
from eager_api.nn import functional, init, utils
from eager_api.nn.modules import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss, BCEWithLogitsLoss,
                                  Conv2d, ConvTranspose2d, CrossEntropyLoss, Dropout, Dropout2d, Embedding, Flatten,
                                  Identity, L1Loss, LeakyReLU, Linear, LogSoftmax, MaxPool2d, Module, ModuleDict,
                                  ModuleList, MSELoss, NLLLoss, Parameter, ReLU, Sequential, Sigmoid, Softmax, Tanh,
                                  Upsample)

__all__ = ["functional", "init", "utils", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss",
           "BCEWithLogitsLoss", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "Embedding",
           "Flatten", "Identity", "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MaxPool2d", "Module", "ModuleDict",
           "ModuleList", "MSELoss", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
           "Upsample"]

from eager_api.nn import parallel  # noqa: E402  (needs Module)

__all__ += ["parallel"]
