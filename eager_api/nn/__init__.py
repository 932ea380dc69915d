"""``torch.nn`` for dualflow: ``import eager_api.nn as nn``."""
from eager_api.nn import functional, init
from eager_api.nn.modules import (AvgPool2d, BatchNorm2d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Identity,
                                  L1Loss, Linear, LogSoftmax, MaxPool2d, Module, ModuleList, MSELoss, NLLLoss,
                                  Parameter, ReLU, Sequential, Sigmoid, Softmax, Tanh)

__all__ = ["functional", "init", "AvgPool2d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten",
           "Identity", "L1Loss", "Linear", "LogSoftmax", "MaxPool2d", "Module", "ModuleList", "MSELoss", "NLLLoss",
           "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh"]
