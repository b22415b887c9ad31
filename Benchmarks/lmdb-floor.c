// What LMDB alone (liblmdb from Debian, no Swift) costs to store one generation of projections
// the way rebuild does: ROWS rows appended (MDB_APPEND) to one database and, before them,
// BLOBS values of BLOB_BYTES bytes (overflow pages, like checkpoints) to another, in one write
// transaction, then one durable commit. Each round clears both databases first, so later rounds
// reuse the pages freed by earlier ones, as rebuild reuses the other generation's pages.
//
//   cc -O2 Benchmarks/lmdb-floor.c -llmdb -o /tmp/lmdb-floor
//   /tmp/lmdb-floor DIR ROWS KEY_BYTES VALUE_BYTES BLOBS BLOB_BYTES [ROUNDS]
//
// `make bench-lmdb-floor` runs it with the sizes of the 1M-event history fixture's generation.
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

#define CHECK(call) do { int rc = (call); if (rc) { fprintf(stderr, "%s: %s\n", #call, mdb_strerror(rc)); exit(1); } } while (0)

int main(int argc, char **argv) {
    if (argc < 7 || argc > 8) {
        fprintf(stderr, "usage: lmdb-floor DIR ROWS KEY_BYTES VALUE_BYTES BLOBS BLOB_BYTES [ROUNDS]\n");
        return 2;
    }
    long rows = atol(argv[2]), keyBytes = atol(argv[3]), valueBytes = atol(argv[4]);
    long blobs = atol(argv[5]), blobBytes = atol(argv[6]);
    int rounds = argc == 8 ? atoi(argv[7]) : 3;
    if (keyBytes < 8 || keyBytes > 511 || valueBytes < 0 || valueBytes > 4096 || rows < 0 || blobs < 0 || blobBytes < 1) {
        fprintf(stderr, "lmdb-floor: keys need 8-511 bytes, values 0-4096\n");
        return 2;
    }
    MDB_env *env;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_set_mapsize(env, 32L << 30));
    CHECK(mdb_env_set_maxdbs(env, 2));
    CHECK(mdb_env_open(env, argv[1], MDB_NOTLS, 0600));
    unsigned char key[512] = {0}, value[4096], *blob = malloc(blobBytes);
    memset(value, 7, sizeof value);
    memset(blob, 3, blobBytes);
    for (int round = 0; round < rounds; round++) {
        MDB_txn *txn;
        MDB_dbi table, blobTable;
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        CHECK(mdb_dbi_open(txn, "table", MDB_CREATE, &table));
        CHECK(mdb_dbi_open(txn, "blobs", MDB_CREATE, &blobTable));
        CHECK(mdb_drop(txn, table, 0));
        CHECK(mdb_drop(txn, blobTable, 0));
        double start = seconds();
        for (long i = 0; i < blobs; i++) {
            unsigned long big = __builtin_bswap64(i);
            MDB_val k = {8, &big}, v = {blobBytes, blob};
            CHECK(mdb_put(txn, blobTable, &k, &v, MDB_APPEND));
        }
        double blobsDone = seconds();
        for (long i = 0; i < rows; i++) {
            unsigned long big = __builtin_bswap64(i);
            memcpy(key, &big, 8);
            MDB_val k = {keyBytes, key}, v = {valueBytes, value};
            CHECK(mdb_put(txn, table, &k, &v, MDB_APPEND));
        }
        double rowsDone = seconds();
        CHECK(mdb_txn_commit(txn));
        double committed = seconds();
        printf("round %d: %ld blobs %.3f s, %ld rows %.3f s (%.0f ns/row), commit %.3f s, total %.3f s\n", round, blobs,
               blobsDone - start, rows, rowsDone - blobsDone, (rowsDone - blobsDone) / (rows ? rows : 1) * 1e9,
               committed - rowsDone, committed - start);
    }
    mdb_env_close(env);
    free(blob);
    return 0;
}
