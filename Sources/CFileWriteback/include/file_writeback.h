#ifndef REGLEDGER_FILE_WRITEBACK_H
#define REGLEDGER_FILE_WRITEBACK_H

/// Starts writing `length` bytes of `fd` from `offset` to disk without waiting (Linux
/// `sync_file_range` with `SYNC_FILE_RANGE_WRITE`; a no-op returning 0 elsewhere).
int regledger_start_writeback(int fd, long long offset, long long length);

#endif
