"""ecapa_model.py - ECAPA-TDNN (Desplanques et al. 2020) in plain PyTorch,
a transcription of SpeechBrain's speechbrain/lobes/models/ECAPA_TDNN.py
with its constructor arguments and state_dict key names (blocks.N.conv.
conv.weight, blocks.N.res2net_block.blocks.K..., mfa, asp, asp_bn, fc), so a
state_dict loads into SpeechBrain's ECAPA_TDNN with strict=True and back:
reflect-padded "same" Conv1d, TDNN = conv -> ReLU -> BatchNorm1d,
SE-Res2Net blocks, multi-layer feature aggregation, attentive statistics
pooling (with or without global context), asp_bn, fc.

ECAPA(...)(feats [B][T][F]) -> [B][1][lin_neurons].  Used by
share/diffcore/train/train_spk_ecapa.py (the default speaker model) and
tests/bench/spk_torch.py (the PyTorch peer of bench_spk).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F



class Conv1d(nn.Module):
    """speechbrain.nnet.CNN.Conv1d, padding 'same', padding_mode 'reflect'."""

    def __init__(self, ic, oc, k, d=1):
        super().__init__()
        self.conv = nn.Conv1d(ic, oc, k, dilation=d)
        self.pad = d * (k - 1) // 2

    def forward(self, x):
        if self.pad:
            x = F.pad(x, (self.pad, self.pad), mode="reflect")
        return self.conv(x)


class BN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.BatchNorm1d(c)

    def forward(self, x):
        return self.norm(x)


class TDNN(nn.Module):
    def __init__(self, ic, oc, k, d):
        super().__init__()
        self.conv = Conv1d(ic, oc, k, d)
        self.norm = BN(oc)

    def forward(self, x):
        return self.norm(torch.relu(self.conv(x)))


class Res2(nn.Module):
    def __init__(self, c, scale, k, d):
        super().__init__()
        self.blocks = nn.ModuleList([TDNN(c // scale, c // scale, k, d) for _ in range(scale - 1)])
        self.scale = scale

    def forward(self, x):
        y = []
        for i, xi in enumerate(torch.chunk(x, self.scale, dim=1)):
            if i == 0:
                yi = xi
            elif i == 1:
                yi = self.blocks[0](xi)
            else:
                yi = self.blocks[i - 1](xi + yi)
            y.append(yi)
        return torch.cat(y, dim=1)


class SE(nn.Module):
    def __init__(self, c, s):
        super().__init__()
        self.conv1 = Conv1d(c, s, 1)
        self.conv2 = Conv1d(s, c, 1)

    def forward(self, x):
        s = x.mean(dim=2, keepdim=True)
        return torch.sigmoid(self.conv2(torch.relu(self.conv1(s)))) * x


class SERes2Net(nn.Module):
    def __init__(self, ic, c, scale, se, k, d):
        super().__init__()
        self.tdnn1 = TDNN(ic, c, 1, 1)
        self.res2net_block = Res2(c, scale, k, d)
        self.tdnn2 = TDNN(c, c, 1, 1)
        self.se_block = SE(c, se)
        self.shortcut = Conv1d(ic, c, 1) if ic != c else None

    def forward(self, x):
        r = self.shortcut(x) if self.shortcut is not None else x
        return self.se_block(self.tdnn2(self.res2net_block(self.tdnn1(x)))) + r


class ASP(nn.Module):
    def __init__(self, c, a, gc):
        super().__init__()
        self.gc = gc
        self.tdnn = TDNN(3 * c if gc else c, a, 1, 1)
        self.conv = Conv1d(a, c, 1)

    def forward(self, x):
        L = x.shape[-1]

        def stats(x, m, eps=1e-12):
            mean = (m * x).sum(2)
            std = torch.sqrt((m * (x - mean.unsqueeze(2)).pow(2)).sum(2).clamp(eps))
            return mean, std

        if self.gc:
            m = torch.ones(x.shape[0], 1, L) / L
            mean, std = stats(x, m)
            attn = torch.cat([x, mean.unsqueeze(2).repeat(1, 1, L),
                              std.unsqueeze(2).repeat(1, 1, L)], dim=1)
        else:
            attn = x
        attn = F.softmax(self.conv(torch.tanh(self.tdnn(attn))), dim=2)
        mean, std = stats(x, attn)
        return torch.cat((mean, std), dim=1).unsqueeze(2)


class ECAPA(nn.Module):
    def __init__(self, input_size, lin_neurons, channels, kernel_sizes, dilations,
                 attention_channels, res2net_scale, se_channels, global_context):
        super().__init__()
        self.blocks = nn.ModuleList([TDNN(input_size, channels[0], kernel_sizes[0], dilations[0])])
        for i in range(1, len(channels) - 1):
            self.blocks.append(SERes2Net(channels[i - 1], channels[i], res2net_scale, se_channels,
                                         kernel_sizes[i], dilations[i]))
        self.mfa = TDNN(channels[-2] * (len(channels) - 2), channels[-1], kernel_sizes[-1],
                        dilations[-1])
        self.asp = ASP(channels[-1], attention_channels, global_context)
        self.asp_bn = BN(channels[-1] * 2)
        self.fc = Conv1d(channels[-1] * 2, lin_neurons, 1)

    def forward(self, x):
        x = x.transpose(1, 2)
        xl = []
        for layer in self.blocks:
            x = layer(x)
            xl.append(x)
        x = self.mfa(torch.cat(xl[1:], dim=1))
        return self.fc(self.asp_bn(self.asp(x))).transpose(1, 2)
