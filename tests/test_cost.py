"""The FLOP count of singan/training/cost.py against PyTorch's own operation counter."""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from singan.config.singan import TrainConfig
from singan.models.singan import PatchCritic, ScaleGenerator
from singan.training.cost import critic_flops, generator_flops, iteration_flops, training_flops

from test_training import scale_zero_trainer


def counted(function) -> int:
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


@pytest.mark.parametrize("width, size", [(32, (25, 34)), (64, (40, 30))])
def test_network_forward_flops_match_pytorchs_count(width, size):
    image = torch.zeros(1, 3, *size)
    with torch.no_grad():
        assert counted(lambda: ScaleGenerator(3, width)(image, image)) == generator_flops(3, width, size)
        assert counted(lambda: PatchCritic(3, width)(image)) == critic_flops(3, width, size)


class OperationCounter(TorchDispatchMode):
    """Counts every operation PyTorch runs, backward passes included, with torch's own FLOP formulas.

    FlopCounterMode itself cannot follow the gradient penalty's autograd.grad(create_graph=True).
    """

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, function, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = function(*args, **kwargs)
        formula = flop_registry.get(function._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=output)
        return output


@pytest.mark.parametrize("fresh_fake", [True, False])
def test_iteration_flops_are_close_to_a_counted_iteration(fresh_fake):
    # The model counts a backward pass as two forwards; a counted iteration is within a few percent, with a
    # fresh fake per generator step and with the original's one fake (its adversarial gradient once).
    config = TrainConfig(seed=0, fresh_fake=fresh_fake)
    trainer = scale_zero_trainer(config)
    trainer.iteration()
    with OperationCounter() as counter:
        trainer.iteration()
    assert iteration_flops(config, [trainer.size], 0) == pytest.approx(counter.flops, rel=0.1)


def test_the_original_s_one_fake_costs_less_than_a_fresh_one_per_step():
    sizes = [(25, 34)]
    fresh, one = (iteration_flops(TrainConfig(fresh_fake=value), sizes, 0) for value in (True, False))
    g, d = generator_flops(3, 32, sizes[0]), critic_flops(3, 32, sizes[0])
    assert fresh - one == pytest.approx(7 * g + 4 * d)


def test_training_flops_add_up_the_scales():
    config = TrainConfig(iterations=10)
    sizes = [(25, 34), (33, 43)]
    assert training_flops(config, sizes) == 10 * (iteration_flops(config, sizes, 0) + iteration_flops(config, sizes, 1))
    assert training_flops(config, sizes, first_scale=1) == 10 * iteration_flops(config, sizes, 1)
