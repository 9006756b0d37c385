// PG zone: row hashes of a re-executed vector search (vector_sample.h).
#include "shim.h"

extern "C" {
#include "common/hashfn.h"
#include "tcop/dest.h"
}

#include "worker/vector_sample.h"

namespace ruvector_pg {
namespace {

struct RowHashReceiver {
  DestReceiver pub;  // first: PostgreSQL calls through it
  RowHashes rows;
  FmgrInfo* out = nullptr;  // per column, set up at startup
  int natts = 0;
};

constexpr uint64_t kNullHash = 0x6a09e667f3bcc909ull;

void Startup(DestReceiver* self, int operation, TupleDesc desc) {
  auto* r = reinterpret_cast<RowHashReceiver*>(self);
  r->natts = desc->natts;
  r->out = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * std::max(1, desc->natts)));
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    Oid func;
    bool varlena;
    getTypeOutputInfo(att->atttypid, &func, &varlena);
    fmgr_info(func, &r->out[i]);
  }
}

bool Receive(TupleTableSlot* slot, DestReceiver* self) {
  auto* r = reinterpret_cast<RowHashReceiver*>(self);
  if (r->rows.count >= r->rows.cap) {
    r->rows.overflow = true;
    return true;
  }
  slot_getallattrs(slot);
  uint64_t h = static_cast<uint64_t>(r->natts);
  for (int i = 0; i < r->natts; ++i) {
    if (TupleDescAttr(slot->tts_tupleDescriptor, i)->attisdropped) continue;
    if (slot->tts_isnull[i]) {
      h = hash_combine64(h, kNullHash);
      continue;
    }
    char* text = OutputFunctionCall(&r->out[i], slot->tts_values[i]);
    h = hash_combine64(h, hash_bytes_extended(reinterpret_cast<const unsigned char*>(text),
                                              static_cast<int>(strlen(text)), 0));
    pfree(text);
  }
  r->rows.hashes[r->rows.count++] = h;
  return true;
}

void Shutdown(DestReceiver* self) {}
void Destroy(DestReceiver* self) {}

}  // namespace

DestReceiver* CreateRowHashReceiver(MemoryContext cxt, int cap) {
  auto* r = static_cast<RowHashReceiver*>(MemoryContextAllocZero(cxt, sizeof(RowHashReceiver)));
  r->pub.receiveSlot = Receive;
  r->pub.rStartup = Startup;
  r->pub.rShutdown = Shutdown;
  r->pub.rDestroy = Destroy;
  r->pub.mydest = DestNone;
  r->rows.cap = cap;
  r->rows.hashes = static_cast<uint64_t*>(MemoryContextAlloc(cxt, sizeof(uint64_t) * std::max(1, cap)));
  return &r->pub;
}

RowHashes* RowHashesOf(DestReceiver* receiver) { return &reinterpret_cast<RowHashReceiver*>(receiver)->rows; }

void ResetRowHashes(DestReceiver* receiver) {
  RowHashes* rows = RowHashesOf(receiver);
  rows->count = 0;
  rows->overflow = false;
}

uint64_t CaptureStatementHash(const CapturedStatement& c) {
  uint64_t h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(c.text), static_cast<int>(strlen(c.text)), 1);
  h = hash_combine64(h, hash_bytes_extended(reinterpret_cast<const unsigned char*>(c.params), sizeof(c.params), 2));
  h = hash_combine64(h, hash_bytes_extended(reinterpret_cast<const unsigned char*>(c.search_path),
                                            static_cast<int>(strlen(c.search_path)), 3));
  return h == 0 ? 1 : h;
}

}  // namespace ruvector_pg
