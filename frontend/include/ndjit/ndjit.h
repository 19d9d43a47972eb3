// ndjit's public C++ API: include this one header.
//
// Today it exposes the array runtime (dtypes, NDArray and its views, copies
// and casts, .npy files, the memory pool) and the host target; the lazy
// expression DSL is built on top of these.
#pragma once

#include "ndjit/array.h"
#include "ndjit/codegen/disk_cache.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/codegen/target.h"
#include "ndjit/einsum_path.h"
#include "ndjit/error.h"
#include "ndjit/function.h"
#include "ndjit/linalg.h"
#include "ndjit/random.h"
#include "ndjit/records.h"
#include "ndjit/runtime/accumulate.h"
#include "ndjit/runtime/arrow.h"
#include "ndjit/runtime/buffer.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/dlpack.h"
#include "ndjit/runtime/dtype.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/npy.h"
#include "ndjit/runtime/pool.h"
#include "ndjit/runtime/record.h"
#include "ndjit/runtime/shape.h"
#include "ndjit/version.h"
