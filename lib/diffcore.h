/*
 * diffcore.h - the public header of libdiffcore.  Include this one file;
 * it pulls in every module's header.  See libdiffcore(3).
 */
#ifndef DIFFCORE_H
#define DIFFCORE_H

#include "core/core.h"
#include "io/stream.h"
#include "io/safetensors.h"
#include "io/media.h"
#include "io/npy.h"
#include "ops/ops.h"
#include "image/image.h"
#include "image/lsd.h"
#include "image/canvas.h"
#include "signal/signal.h"
#include "metrics/metrics.h"
#include "text/spm.h"
#include "text/normalize.h"
#include "text/phonemize.h"
#include "speech/fbank.h"
#include "speech/spk.h"
#include "speech/tts_audio.h"
#include "cli/cli.h"

#endif /* DIFFCORE_H */
