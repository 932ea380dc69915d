"""``torch.nn`` for dualflow: ``import eager_api.nn as nn``."""
from eager_api.nn import functional, init
from eager_api.nn.modules import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss, BCEWithLogitsLoss,
                                  Conv2d, CrossEntropyLoss, Dropout, Flatten, Identity, L1Loss, LeakyReLU, Linear,
                                  LogSoftmax, MaxPool2d, Module, ModuleList, MSELoss, NLLLoss, Parameter, ReLU,
                                  Sequential, Sigmoid, Softmax, Tanh)

__all__ = ["functional", "init", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss",
           "BCEWithLogitsLoss", "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten", "Identity", "L1Loss", "LeakyReLU",
           "Linear", "LogSoftmax", "MaxPool2d", "Module", "ModuleList", "MSELoss", "NLLLoss", "Parameter", "ReLU",
           "Sequential", "Sigmoid", "Softmax", "Tanh"]
