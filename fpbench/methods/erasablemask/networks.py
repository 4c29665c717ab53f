"""ErasableMask networks on an AttGAN-style conditional encoder/decoder (He et al., TIP 2019).

* ``Encoder``: n conv 4x4 stride-2 blocks (BN + LeakyReLU), returning every layer's features.
* ``Decoder``: n transposed-conv 4x4 stride-2 blocks (BN + ReLU, last one tanh) with the attribute code
  tiled at the bottleneck and shortcut connections to the encoder; optional clean-domain injection.
* ``Discriminator``: shared conv trunk (instance norm) with a real/fake head D_G and an attribute head D_att.
* ``ErasableMaskNets``: G_enc, G_dec, E_adv (eq. 6-7), restorer R and D in one module (one state dict).

All images here are in [-1, 1]; ``adv_generate`` is the protected-face generator of eq. 6-7 with injection.
"""
from __future__ import annotations

import copy
from typing import Mapping

import torch
import torch.nn as nn
from torch.func import functional_call

from .profiles import Profile


def _conv_block(n_in: int, n_out: int, norm: str) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(n_in, n_out, 4, 2, 1, bias=norm == "none")]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(n_out))
    elif norm == "instance":
        layers.append(nn.InstanceNorm2d(n_out, affine=True))
    layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


def _deconv_block(n_in: int, n_out: int, last: bool) -> nn.Sequential:
    if last:
        return nn.Sequential(nn.ConvTranspose2d(n_in, n_out, 4, 2, 1), nn.Tanh())
    return nn.Sequential(nn.ConvTranspose2d(n_in, n_out, 4, 2, 1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU())


def encoder_widths(dim: int, n_layers: int, max_dim: int) -> list[int]:
    return [min(dim * 2**i, max_dim) for i in range(n_layers)]


class Encoder(nn.Module):
    """x (N, 3, S, S) in [-1, 1] -> list of the n layers' feature maps (S/2 ... S/2^n)."""

    def __init__(self, dim: int, n_layers: int, max_dim: int) -> None:
        super().__init__()
        widths = encoder_widths(dim, n_layers, max_dim)
        self.layers = nn.ModuleList(_conv_block(a, b, "batch") for a, b in zip([3] + widths[:-1], widths))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


class Decoder(nn.Module):
    """Features of an ``Encoder`` + attribute code (N, n_attrs) -> image in [-1, 1].

    With ``clean`` features and ``gamma`` > 0 it runs a second, weight-sharing branch on them and fuses
    ``(1 - gamma) * h + gamma * h_clean`` after every layer (clean-domain information injection).
    """

    def __init__(
        self, enc_widths: list[int], dim: int, n_layers: int, max_dim: int, n_attrs: int, shortcut_layers: int
    ) -> None:
        super().__init__()
        self.n_attrs = n_attrs
        self.shortcut_layers = min(shortcut_layers, n_layers - 1)
        layers = []
        n_in = enc_widths[-1] + n_attrs
        for i in range(n_layers):
            last = i == n_layers - 1
            n_out = 3 if last else min(dim * 2 ** (n_layers - i - 1), max_dim)
            layers.append(_deconv_block(n_in, n_out, last))
            n_in = n_out + (enc_widths[n_layers - 2 - i] if i < self.shortcut_layers else 0)
        self.layers = nn.ModuleList(layers)

    def _inputs(self, feats: list[torch.Tensor], att: torch.Tensor) -> torch.Tensor:
        z = feats[-1]
        tile = att.view(att.shape[0], -1, 1, 1).expand(-1, -1, z.shape[2], z.shape[3]).to(z)
        return torch.cat([z, tile], dim=1)

    def _shortcut(self, h: torch.Tensor, feats: list[torch.Tensor], i: int) -> torch.Tensor:
        return torch.cat([h, feats[len(self.layers) - 2 - i]], dim=1) if i < self.shortcut_layers else h

    def forward(
        self, feats: list[torch.Tensor], att: torch.Tensor, clean: list[torch.Tensor] | None = None, gamma: float = 0.0
    ) -> torch.Tensor:
        h = self._inputs(feats, att)
        hc = self._inputs(clean, att) if clean is not None else None
        for i, layer in enumerate(self.layers):
            out = layer(h)
            if hc is not None:
                out_c = layer(hc)
                out = (1 - gamma) * out + gamma * out_c
                hc = self._shortcut(out_c, clean, i)
            h = self._shortcut(out, feats, i)
        return h


def apply_change(x: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
    """A residual decoder's output: its input ``x`` plus the predicted ``change``, kept in [-1, 1]."""
    return (x + change).clamp(-1, 1)


class Generator(nn.Module):
    """AttGAN generator: ``dec(enc(x), att)``.

    With ``p.residual`` the decoder predicts a change of the input instead of the whole image,
    ``clamp(x + dec(...), -1, 1)``, and its last layer starts at zero, so an untrained generator is the
    identity (the mini profile's departure: 19 training faces cannot teach a decoder to redraw a face).
    """

    def __init__(self, p: Profile, n_attrs: int) -> None:
        super().__init__()
        self.residual = p.residual
        self.enc = Encoder(p.enc_dim, p.n_layers, p.max_dim)
        widths = encoder_widths(p.enc_dim, p.n_layers, p.max_dim)
        self.dec = Decoder(widths, p.dec_dim, p.n_layers, p.max_dim, n_attrs, p.shortcut_layers)
        if self.residual:
            last = self.dec.layers[-1][0]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def decode(
        self, x: torch.Tensor, feats: list[torch.Tensor], att: torch.Tensor,
        clean: list[torch.Tensor] | None = None, gamma: float = 0.0,
    ) -> torch.Tensor:
        """The output image for input ``x`` from (possibly fused) encoder features ``feats``."""
        y = self.dec(feats, att, clean=clean, gamma=gamma)
        return apply_change(x, y) if self.residual else y

    def forward(self, x: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        return self.decode(x, self.enc(x), att)


class Discriminator(nn.Module):
    """Conv trunk shared by D_G (real/fake logit) and D_att (attribute logits)."""

    def __init__(self, p: Profile, n_attrs: int) -> None:
        super().__init__()
        widths = encoder_widths(p.dis_dim, p.n_layers, p.max_dim)
        self.trunk = nn.Sequential(*(_conv_block(a, b, "instance") for a, b in zip([3] + widths[:-1], widths)))
        flat = widths[-1] * (p.resolution // 2**p.n_layers) ** 2

        def head(n_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(flat, p.dis_fc_dim), nn.ReLU(), nn.Linear(p.dis_fc_dim, n_out))

        self.d_g = head(1)
        self.d_att = head(n_attrs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x).flatten(1)
        return self.d_g(h).squeeze(1), self.d_att(h)


class ErasableMaskNets(nn.Module):
    """G (= ``g.enc`` + ``g.dec``), E_adv, R and D of one ErasableMask model."""

    def __init__(self, p: Profile, n_attrs: int) -> None:
        super().__init__()
        if p.resolution % 2**p.n_layers:
            raise ValueError(f"resolution {p.resolution} must be divisible by 2^{p.n_layers}")
        self.beta = p.beta
        self.gamma = p.gamma
        self.n_attrs = n_attrs
        self.g = Generator(p, n_attrs)
        self.e_adv = Encoder(p.enc_dim, p.n_layers, p.max_dim)
        # a residual G_dec learns to change faces little, too little to carry a perturbation: the protected
        # face gets its own decoder, a copy of G_dec trained with E_adv in stage 2 (None: G_dec, as the paper)
        self.dec_adv = copy.deepcopy(self.g.dec) if p.residual else None
        self.r = Generator(p, n_attrs)
        self.d = Discriminator(p, n_attrs)

    def start_stage2(self) -> None:
        """E_adv <- G_enc and R <- (G_enc, G_dec), as the paper initialises them (and the adversarial
        decoder <- G_dec)."""
        self.e_adv.load_state_dict(self.g.enc.state_dict())
        self.r.load_state_dict(self.g.state_dict())
        if self.dec_adv is not None:
            self.dec_adv.load_state_dict(self.g.dec.state_dict())

    def adversarial_parameters(self) -> list[nn.Parameter]:
        """What stage 2 trains to make the perturbation: E_adv (and the adversarial decoder)."""
        extra = list(self.dec_adv.parameters()) if self.dec_adv is not None else []
        return list(self.e_adv.parameters()) + extra

    def adversarial_param_groups(self, lr: float, decoder_lr_scale: float) -> list[dict]:
        """Optimiser groups of stage 2's perturbation and restorer parameters."""
        groups = [{"params": list(self.e_adv.parameters()), "lr": lr}]
        if self.dec_adv is not None:
            groups.append({"params": list(self.dec_adv.parameters()), "lr": lr * decoder_lr_scale})
        return groups + [{"params": list(self.r.parameters()), "lr": lr}]

    def perturbation_features(
        self, x: torch.Tensor, e_params: Mapping[str, torch.Tensor] | None = None
    ) -> list[torch.Tensor]:
        """E_adv(x), optionally with replacement weights ``e_params`` (functional call, for the meta step)."""
        if e_params is None:
            return self.e_adv(x)
        buffers = dict(self.e_adv.named_buffers())
        return functional_call(self.e_adv, {**buffers, **e_params}, (x,))

    def adv_generate(
        self,
        x: torch.Tensor,
        att_b: torch.Tensor,
        clean_feats: list[torch.Tensor] | None = None,
        e_params: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x_adv^{att_b} (eq. 6-7 plus clean-domain injection); ``clean_feats`` = G_enc(x) if precomputed."""
        ft = clean_feats if clean_feats is not None else self.g.enc(x)
        perb = self.perturbation_features(x, e_params)
        fused = [self.beta * a + (1 - self.beta) * b for a, b in zip(ft, perb)]
        clean, gamma = (ft, self.gamma) if self.gamma > 0 else (None, 0.0)
        if self.dec_adv is None:
            return self.g.decode(x, fused, att_b, clean=clean, gamma=gamma)
        return apply_change(x, self.dec_adv(fused, att_b, clean=clean, gamma=gamma))

    def restore(self, x_adv: torch.Tensor) -> torch.Tensor:
        """x_rec = R(x_adv) with the neutral (all-zero) attribute code."""
        return self.r(x_adv, x_adv.new_zeros(x_adv.shape[0], self.n_attrs))
