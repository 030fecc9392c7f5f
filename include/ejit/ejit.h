// ejit: the one header an application includes.
#pragma once

#include "ejit/autodiff.h"
#include "ejit/dtype.h"
#include "ejit/error.h"
#include "ejit/format.h"
#include "ejit/ops.h"
#include "ejit/random.h"
#include "ejit/runtime.h"
#include "ejit/shape.h"
#include "ejit/tensor.h"
#include "ejit/trace.h"
#include "ejit/variable.h"
