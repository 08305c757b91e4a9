// polygrad's distributed component (find_package(polygrad COMPONENTS
// distributed), target polygrad::distributed; built when CMake finds MPI):
// data-parallel training over MPI. See docs/distributed.md.
#pragma once

#include <polygrad/distributed/ddp.h>
#include <polygrad/distributed/process_group.h>
#include <polygrad/distributed/sync_batchnorm.h>
