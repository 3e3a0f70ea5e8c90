"""vocos_model.py - the Vocos generator (Siuzdak 2023, gemelo-ai/vocos) as
tts-synth's neural vocoder runs it (lib/speech/vocos.h), in plain PyTorch.

Mel frames -> ConvNeXt backbone -> ISTFT head (magnitude and phase of every
STFT bin, inverse STFT with "same" padding).  Parameter names follow
gemelo-ai/vocos's state_dict (backbone.embed, backbone.norm,
backbone.convnext.N.{dwconv,norm,pwconv1,pwconv2,gamma},
backbone.final_layer_norm, head.out), so a Vocos checkpoint's generator
loads as is (its own mel front end differs: 24 kHz, 100 mels, center
padding).  Ours takes the HiFi-GAN/FastSpeech 2 log-mel of
lib/speech/tts_audio.h (22050 Hz, n_fft 1024, hop 256, 80 mels, ln of
max(mel, 1e-5)), frame t centred on sample t*hop + hop/2.

Used by share/diffcore/train/train_tts_vocos.py and
tests/golden/make_vocos.py.
"""
import torch
import torch.nn as nn


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, intermediate_dim, layer_scale_init_value):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim))

    def forward(self, x):                      # x [B, C, T]
        r = x
        x = self.dwconv(x).transpose(1, 2)     # [B, T, C]
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        x = self.gamma * x
        return r + x.transpose(1, 2)


class VocosBackbone(nn.Module):
    def __init__(self, input_channels, dim, intermediate_dim, num_layers):
        super().__init__()
        self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.convnext = nn.ModuleList(
            [ConvNeXtBlock(dim, intermediate_dim, 1.0 / num_layers) for _ in range(num_layers)])
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):                      # x [B, n_mels, T]
        x = self.embed(x)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for b in self.convnext:
            x = b(x)
        return self.final_layer_norm(x.transpose(1, 2))   # [B, T, C]


def istft_same(spec, n_fft, hop, window):
    """Vocos's ISTFT(padding="same"): irfft of each frame, windowed,
    overlap-added, normalised by the summed squared window, trimmed by
    (n_fft - hop) / 2 at both ends -> T * hop samples."""
    B, F, T = spec.shape
    pad = (n_fft - hop) // 2
    ifft = torch.fft.irfft(spec, n_fft, dim=1, norm="backward") * window[None, :, None]
    out_size = (T - 1) * hop + n_fft
    y = torch.nn.functional.fold(ifft, output_size=(1, out_size), kernel_size=(1, n_fft),
                                 stride=(1, hop))[:, 0, 0, pad:-pad]
    wsq = window.square().expand(1, T, -1).transpose(1, 2)
    env = torch.nn.functional.fold(wsq, output_size=(1, out_size), kernel_size=(1, n_fft),
                                   stride=(1, hop)).squeeze()[pad:-pad]
    return y / env


class ISTFTHead(nn.Module):
    def __init__(self, dim, n_fft, hop_length):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop_length
        self.out = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x):                      # x [B, T, C]
        x = self.out(x).transpose(1, 2)
        mag, p = x.chunk(2, dim=1)
        mag = torch.exp(mag).clip(max=1e2)
        spec = torch.complex(mag * torch.cos(p), mag * torch.sin(p))
        return istft_same(spec, self.n_fft, self.hop, self.window)


class Vocos(nn.Module):
    def __init__(self, n_mels=80, dim=256, intermediate_dim=768, num_layers=6, n_fft=1024,
                 hop_length=256):
        super().__init__()
        self.backbone = VocosBackbone(n_mels, dim, intermediate_dim, num_layers)
        self.head = ISTFTHead(dim, n_fft, hop_length)

    def forward(self, mel):                    # [B, n_mels, T] -> [B, T * hop]
        return self.head(self.backbone(mel))
