#ifndef BWMA_CMPI_SHIM_H
#define BWMA_CMPI_SHIM_H
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over addresses of globals, which Swift
// cannot import; these inline functions expose them.
#include <mpi.h>

static inline MPI_Comm bwma_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype bwma_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype bwma_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype bwma_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype bwma_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype bwma_mpi_int(void) { return MPI_INT; }
static inline int bwma_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline MPI_Op bwma_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op bwma_mpi_max(void) { return MPI_MAX; }
static inline MPI_Request bwma_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler bwma_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Status *bwma_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *bwma_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline void *bwma_mpi_in_place(void) { return MPI_IN_PLACE; }
#endif
