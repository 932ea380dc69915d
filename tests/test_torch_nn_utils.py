"""torch.nn.utils.parameters_to_vector / vector_to_parameters: against hand values, and PyTorch 2.13 under the
``reference`` marker."""
import pytest

import eager_api


def _story(torch):
    torch.manual_seed(0)
    lin = torch.nn.Linear(2, 3)
    v = torch.nn.utils.parameters_to_vector(lin.parameters())
    (v * torch.arange(9.0)).sum().backward()             # the vector is differentiable back to the parameters
    grads = (lin.weight.grad.tolist(), lin.bias.grad.tolist())
    new = torch.arange(9.0)
    torch.nn.utils.vector_to_parameters(new, lin.parameters())
    values = (lin.weight.tolist(), lin.bias.tolist(), type(lin.weight).__name__, lin.weight.requires_grad)
    new[0] = 100.0                                        # the parameters share the vector's memory
    shared = lin.weight.tolist()[0][0]
    lin.weight.grad = None
    lin(torch.ones(1, 2)).sum().backward()
    try:
        torch.nn.utils.vector_to_parameters([1.0], lin.parameters())
        error = None
    except TypeError as e:
        error = str(e)
    return tuple(v.shape), grads, values, shared, lin.weight.grad.tolist(), error


def test_parameters_to_vector_and_back():
    shape, grads, values, shared, grad_after, error = _story(eager_api)
    assert shape == (9,)
    assert grads == ([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [6.0, 7.0, 8.0])
    assert values == ([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [6.0, 7.0, 8.0], "Parameter", True)
    assert shared == 100.0 and grad_after == [[1.0, 1.0]] * 3
    assert error == "expected torch.Tensor, but got: list"


@pytest.mark.reference
def test_parameters_to_vector_and_back_as_torch():
    torch = pytest.importorskip("torch")
    assert _story(eager_api) == _story(torch)


def test_sizes_print_as_torch_sizes():
    shape = eager_api.ones(2, 3).shape
    assert repr(shape) == "torch.Size([2, 3])" and str([shape]) == "[torch.Size([2, 3])]" and shape == (2, 3)
