-- A database written by release 1 (schema version 1) of pacspace-mock: workspace
-- pk_test_release1 with three delta.verified events (stored bodies) and one delta still queued.
-- Loaded by tests/test_startup.py to check that version 1 files are upgraded in place.
BEGIN TRANSACTION;
CREATE TABLE "access_attempts" (
   "id" INTEGER PRIMARY KEY,
   "customer" INTEGER NOT NULL,
   "at_ms" INTEGER NOT NULL
);
CREATE TABLE "api_keys" (
   "key" TEXT PRIMARY KEY,
   "env" TEXT,
   "public_id" TEXT,
   "active" INTEGER
);
CREATE TABLE "batches" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "batch_sequence" INTEGER NOT NULL,
   "item_count" INTEGER,
   "items_root" TEXT,
   "previous_proof_hash" TEXT,
   "proof_hash" TEXT NOT NULL,
   "anchor" TEXT,
   "created_ms" INTEGER,
   "processing_due_ms" INTEGER,
   "verify_due_ms" INTEGER,
   "state" TEXT,
   "fail_message" TEXT
);
INSERT INTO "batches" VALUES(1,1,1,1,'0x28e3da9175697e3bcc570dd20fcdd646a34458ed1b19eeca78641866aa83929d','0x0000000000000000000000000000000000000000000000000000000000000000','0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a','0xaac34230f61963f0110d0c23983390066e271a271cd8b657bed723996ebe6d26',1769940000000,1769940001000,1769940002000,'DONE',NULL);
INSERT INTO "batches" VALUES(2,1,2,2,'0x91cfc297624da6d2216a856daf58b7c6a37a38bd71ecdc9764850776555b82f3','0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a','0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c','0xcb7a6bc6558f054621c7ccdd70c42008e9635c2a72f498919c88451b0be7ad0b',1769940000000,1769940001000,1769940002000,'DONE',NULL);
INSERT INTO "batches" VALUES(3,1,3,1,'0x94175d91fc83f81483338232a48d9cbb2fc9e03bad6548fc1c9a81e51baefd83','0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c','0x2249a3452a2ed93806d5777576c6d22bfd43abe5eec371d5260d887853188784','0x66befaad410e02d5c3b869c41432a4a3ed711f93a071346ad31e4508beb864ca',1769940003000,1769940004000,1769940005000,'QUEUED',NULL);
CREATE TABLE "checkpoint_items" (
   "checkpoint" INTEGER,
   "leaf_index" INTEGER,
   "delta" INTEGER,
   PRIMARY KEY ("checkpoint", "leaf_index")
);
CREATE TABLE "checkpoint_trees" (
   "checkpoint" INTEGER,
   "level" INTEGER,
   "hashes" BLOB,
   PRIMARY KEY ("checkpoint", "level")
);
CREATE TABLE "checkpoints" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "n" INTEGER,
   "checkpoint_id" TEXT NOT NULL,
   "customer" INTEGER NOT NULL,
   "customer_id" TEXT,
   "mode" TEXT,
   "month_scope" INTEGER,
   "start_ms" INTEGER,
   "end_ms" INTEGER,
   "period" TEXT,
   "selection" TEXT,
   "covered_key" TEXT,
   "tree_size" INTEGER,
   "items_root" TEXT,
   "from_sequence" INTEGER,
   "to_sequence" INTEGER,
   "net_change" TEXT,
   "total_credits" TEXT,
   "total_debits" TEXT,
   "windows" TEXT,
   "previous_proof_root" TEXT,
   "proof_root" TEXT NOT NULL,
   "preimage" TEXT,
   "anchor" TEXT,
   "scope" TEXT,
   "status" TEXT NOT NULL,
   "created_ms" INTEGER,
   "verify_due_ms" INTEGER,
   "verified_ms" INTEGER,
   "failed_ms" INTEGER,
   "fail_message" TEXT,
   "supersedes" TEXT,
   "superseded_by" TEXT,
   "receipt_generated" INTEGER
);
CREATE TABLE "customers" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "customer_id" TEXT NOT NULL,
   "handle" TEXT NOT NULL,
   "access_code" TEXT,
   "customer_reference" TEXT,
   "customer_partition" TEXT,
   "display_name" TEXT,
   "sharing_state_hint" TEXT,
   "event_cadence" TEXT,
   "unit_label" TEXT,
   "source" TEXT,
   "created_ms" INTEGER,
   "last_sequence" INTEGER,
   "last_recorded_ms" INTEGER
);
INSERT INTO "customers" VALUES(1,1,'c1','cus_f3v7qn4unm2xk2fc','VATR1P','0xEa50498088D2Cee15E3278A07Ff802ec028221b1','3994350811',NULL,'INHERIT','PER_EVENT','units','integration',1769940000000,2,1769940000000);
INSERT INTO "customers" VALUES(2,1,'c2','cus_a5n4266hh3cd7pnj','EB5T2B','0xA957B4ACA92d0e4226AD0fEE5cB9BAcfAB11a0dc','2488130276',NULL,'INHERIT','PER_EVENT','units','integration',1769940000000,2,1769940003000);
CREATE TABLE "deltas" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "n" INTEGER,
   "record_id" TEXT NOT NULL,
   "customer" INTEGER NOT NULL,
   "customer_id" TEXT,
   "sequence" INTEGER NOT NULL,
   "amount" TEXT NOT NULL,
   "units" INTEGER,
   "frac_hi" INTEGER,
   "frac_lo" INTEGER,
   "reason" TEXT,
   "reference_id" TEXT,
   "metadata" TEXT,
   "adjusts" TEXT,
   "metadata_digest" TEXT,
   "fingerprint" TEXT NOT NULL,
   "receipt_id" TEXT,
   "batch" INTEGER,
   "batch_index" INTEGER,
   "recorded_ms" INTEGER,
   "status" TEXT NOT NULL,
   "processing_ms" INTEGER,
   "verified_ms" INTEGER,
   "failed_ms" INTEGER,
   "error_message" TEXT
);
INSERT INTO "deltas" VALUES(1,1,1,'rec_zyefbiuumeotnrzxxqmoejgo',1,'c1',1,'-420',-420,0,0,'usage','u:1',NULL,NULL,NULL,'0x18989ef7db46227d0e6ce30879b71e3e6fd22eecb85bd455a52a1d64064181a1','0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a',1,0,1769940000000,'VERIFIED',1769940001000,1769940002000,NULL,NULL);
INSERT INTO "deltas" VALUES(2,1,2,'rec_ebeo4apgv7t3ihtuuljnpl3l',1,'c1',2,'-12.5',-12,-500000000,0,'usage',NULL,NULL,NULL,NULL,'0x3511ffa2ece79f9135fe1cc39c91e8f4054ca0588aadeb285d9d7e6138b0fef3','0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c',2,0,1769940000000,'VERIFIED',1769940001000,1769940002000,NULL,NULL);
INSERT INTO "deltas" VALUES(3,1,3,'rec_fbf3xkabfylcaigzetsij364',2,'c2',1,'3',3,0,0,'credit',NULL,'{"k":"v"}',NULL,'0x0d09dc963a030ec97bda26225d333582500441dcad1ecd83f2712382beba1b29','0x217ca6934f9b1266d39ddd80fe041a82a57f3b8e5b756025c1a2e5817e99a45f','0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c',2,1,1769940000000,'VERIFIED',1769940001000,1769940002000,NULL,NULL);
INSERT INTO "deltas" VALUES(4,1,4,'rec_prhnvl4rqljj2sciclm3kztv',2,'c2',2,'-1',-1,0,0,'usage',NULL,NULL,NULL,NULL,'0xb9f178fb22d65dbd66b1f9373a44f9a50b944017b5ab213aa9dc747ffa3d470d','0x2249a3452a2ed93806d5777576c6d22bfd43abe5eec371d5260d887853188784',3,0,1769940003000,'QUEUED',NULL,NULL,NULL,NULL);
CREATE TABLE "events" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "n" INTEGER,
   "event_id" TEXT NOT NULL,
   "event" TEXT NOT NULL,
   "created_ms" INTEGER,
   "body" TEXT NOT NULL,
   "customer_id" TEXT,
   "delivery_status" TEXT,
   "attempts" INTEGER,
   "auto_attempts" INTEGER,
   "next_attempt_ms" INTEGER,
   "last_attempt_ms" INTEGER,
   "last_response_status" INTEGER,
   "last_error" TEXT,
   "delivered_ms" INTEGER,
   "url" TEXT,
   "captured" INTEGER,
   "attempt_log" TEXT
);
INSERT INTO "events" VALUES(1,1,1,'evt_ugxmv2flwi6li4exnuq47vjr','delta.verified',1769940002000,'{"id":"evt_ugxmv2flwi6li4exnuq47vjr","event":"delta.verified","tenantId":"ten_u26wca6yumto32kq","createdAt":"2026-02-01T10:00:02.000Z","timestamp":"2026-02-01T10:00:02.000Z","data":{"receiptId":"0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a","deltaIndex":1,"status":"VERIFIED","verifiedAt":"2026-02-01T10:00:02.000Z","verificationId":"0xaac34230f61963f0110d0c23983390066e271a271cd8b657bed723996ebe6d26","delta":{"customerId":"c1","amount":-420,"reason":"usage","referenceId":"u:1","metadata":null,"submittedAt":"2026-02-01T10:00:00.000Z"},"proof":{"proofHash":"0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a","contentHash":"0x18989ef7db46227d0e6ce30879b71e3e6fd22eecb85bd455a52a1d64064181a1","itemHashes":["0x18989ef7db46227d0e6ce30879b71e3e6fd22eecb85bd455a52a1d64064181a1"],"previousProofHash":"0x0000000000000000000000000000000000000000000000000000000000000000","itemsRoot":"0x28e3da9175697e3bcc570dd20fcdd646a34458ed1b19eeca78641866aa83929d","batchSequence":1,"ledgerId":"0x7b45906c034636f3fc2fc9e0d9d7f331b61a1e72aa41775fb1ae1c0934e8038a","proofScheme":"pacspace-mock/v1"},"verification":{"verified":true,"latencyMs":2000,"discrepancies":[]},"period":{"id":"2026-02","deltaCount":1,"netDelta":-420},"usage":{"plan":"unlimited","periodId":"2026-02","includedDeltas":null,"consumedDeltas":3,"remainingDeltas":null,"overageRate":null},"recordId":"rec_zyefbiuumeotnrzxxqmoejgo","customerId":"c1","sequenceNumber":"1","referenceId":"u:1","verificationReference":"0xaac34230f61963f0110d0c23983390066e271a271cd8b657bed723996ebe6d26","blockTimestamp":"2026-02-01T10:00:02.000Z"}}','c1','delivered',1,1,NULL,1769940002000,NULL,NULL,1769940002000,NULL,1,'[{"attempt": 1, "at": "2026-02-01T10:00:02.000Z", "url": null, "captured": true, "timestamp": "1769940002", "signature": "v1=e762e309eaff877e6ac5711eb3ce4b91153c7d5e2c7c7a10d31a43114bbaf785", "responseStatus": null, "error": null, "durationMs": 0, "faultRuleId": null}]');
INSERT INTO "events" VALUES(2,1,2,'evt_atq3ede6eoy3dstlzh7ngveu','delta.verified',1769940002000,'{"id":"evt_atq3ede6eoy3dstlzh7ngveu","event":"delta.verified","tenantId":"ten_u26wca6yumto32kq","createdAt":"2026-02-01T10:00:02.000Z","timestamp":"2026-02-01T10:00:02.000Z","data":{"receiptId":"0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c","deltaIndex":2,"status":"VERIFIED","verifiedAt":"2026-02-01T10:00:02.000Z","verificationId":"0xcb7a6bc6558f054621c7ccdd70c42008e9635c2a72f498919c88451b0be7ad0b","delta":{"customerId":"c1","amount":-12.5,"reason":"usage","referenceId":null,"metadata":null,"submittedAt":"2026-02-01T10:00:00.000Z"},"proof":{"proofHash":"0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c","contentHash":"0x3511ffa2ece79f9135fe1cc39c91e8f4054ca0588aadeb285d9d7e6138b0fef3","itemHashes":["0x3511ffa2ece79f9135fe1cc39c91e8f4054ca0588aadeb285d9d7e6138b0fef3","0x217ca6934f9b1266d39ddd80fe041a82a57f3b8e5b756025c1a2e5817e99a45f"],"previousProofHash":"0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a","itemsRoot":"0x91cfc297624da6d2216a856daf58b7c6a37a38bd71ecdc9764850776555b82f3","batchSequence":2,"ledgerId":"0x7b45906c034636f3fc2fc9e0d9d7f331b61a1e72aa41775fb1ae1c0934e8038a","proofScheme":"pacspace-mock/v1"},"verification":{"verified":true,"latencyMs":2000,"discrepancies":[]},"period":{"id":"2026-02","deltaCount":2,"netDelta":-432.5},"usage":{"plan":"unlimited","periodId":"2026-02","includedDeltas":null,"consumedDeltas":3,"remainingDeltas":null,"overageRate":null},"recordId":"rec_ebeo4apgv7t3ihtuuljnpl3l","customerId":"c1","sequenceNumber":"2","referenceId":null,"verificationReference":"0xcb7a6bc6558f054621c7ccdd70c42008e9635c2a72f498919c88451b0be7ad0b","blockTimestamp":"2026-02-01T10:00:02.000Z"}}','c1','delivered',1,1,NULL,1769940002000,NULL,NULL,1769940002000,NULL,1,'[{"attempt": 1, "at": "2026-02-01T10:00:02.000Z", "url": null, "captured": true, "timestamp": "1769940002", "signature": "v1=9f17131c68349a7f9af04b514e5d128493615674769df838cd643cd003fed2c8", "responseStatus": null, "error": null, "durationMs": 0, "faultRuleId": null}]');
INSERT INTO "events" VALUES(3,1,3,'evt_cdsgmt3rqjl525oc2prg4zk4','delta.verified',1769940002000,'{"id":"evt_cdsgmt3rqjl525oc2prg4zk4","event":"delta.verified","tenantId":"ten_u26wca6yumto32kq","createdAt":"2026-02-01T10:00:02.000Z","timestamp":"2026-02-01T10:00:02.000Z","data":{"receiptId":"0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c","deltaIndex":3,"status":"VERIFIED","verifiedAt":"2026-02-01T10:00:02.000Z","verificationId":"0xcb7a6bc6558f054621c7ccdd70c42008e9635c2a72f498919c88451b0be7ad0b","delta":{"customerId":"c2","amount":3,"reason":"credit","referenceId":null,"metadata":{"k":"v"},"submittedAt":"2026-02-01T10:00:00.000Z"},"proof":{"proofHash":"0x39f674442f3b874a782ee848dd1792d420a18fb8ea09022e9144d3b850a6f83c","contentHash":"0x217ca6934f9b1266d39ddd80fe041a82a57f3b8e5b756025c1a2e5817e99a45f","itemHashes":["0x3511ffa2ece79f9135fe1cc39c91e8f4054ca0588aadeb285d9d7e6138b0fef3","0x217ca6934f9b1266d39ddd80fe041a82a57f3b8e5b756025c1a2e5817e99a45f"],"previousProofHash":"0x6d2e9e90e40b5b3c6f6cbfd068bf201ab14ac46af2a894333f536813195da48a","itemsRoot":"0x91cfc297624da6d2216a856daf58b7c6a37a38bd71ecdc9764850776555b82f3","batchSequence":2,"ledgerId":"0x7b45906c034636f3fc2fc9e0d9d7f331b61a1e72aa41775fb1ae1c0934e8038a","proofScheme":"pacspace-mock/v1"},"verification":{"verified":true,"latencyMs":2000,"discrepancies":[]},"period":{"id":"2026-02","deltaCount":3,"netDelta":-429.5},"usage":{"plan":"unlimited","periodId":"2026-02","includedDeltas":null,"consumedDeltas":3,"remainingDeltas":null,"overageRate":null},"recordId":"rec_fbf3xkabfylcaigzetsij364","customerId":"c2","sequenceNumber":"1","referenceId":null,"verificationReference":"0xcb7a6bc6558f054621c7ccdd70c42008e9635c2a72f498919c88451b0be7ad0b","blockTimestamp":"2026-02-01T10:00:02.000Z"}}','c2','delivered',1,1,NULL,1769940002000,NULL,NULL,1769940002000,NULL,1,'[{"attempt": 1, "at": "2026-02-01T10:00:02.000Z", "url": null, "captured": true, "timestamp": "1769940002", "signature": "v1=814616d089cec3a269e926611bc558f4c7d66f86527ad3d00dc7487e78d1f532", "responseStatus": null, "error": null, "durationMs": 0, "faultRuleId": null}]');
CREATE TABLE "fault_rules" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "n" INTEGER NOT NULL,
   "rule" TEXT NOT NULL,
   "matched" INTEGER,
   "fired" INTEGER,
   "created_ms" INTEGER
);
CREATE TABLE "idempotency_keys" (
   "ws" INTEGER,
   "route" TEXT,
   "key" TEXT,
   "body_identity" TEXT,
   "http_status" INTEGER,
   "body" BLOB,
   "created_ms" INTEGER,
   PRIMARY KEY ("ws", "route", "key")
);
CREATE TABLE "journal" (
   "id" INTEGER PRIMARY KEY,
   "ws" INTEGER NOT NULL,
   "seq" INTEGER NOT NULL,
   "route" TEXT,
   "status" INTEGER,
   "entry" TEXT NOT NULL
);
CREATE TABLE "month_stats" (
   "ws" INTEGER,
   "period" TEXT,
   "consumed" INTEGER,
   "verified_count" INTEGER,
   "verified_net" TEXT,
   PRIMARY KEY ("ws", "period")
);
INSERT INTO "month_stats" VALUES(1,'2026-02',4,3,'-429.5');
CREATE TABLE "workspaces" (
   "id" INTEGER PRIMARY KEY,
   "env" TEXT NOT NULL,
   "public_id" TEXT NOT NULL,
   "created_ms" INTEGER NOT NULL,
   "settings" TEXT NOT NULL,
   "clock_mode" TEXT,
   "clock_offset_ms" INTEGER,
   "clock_frozen_ms" INTEGER,
   "clock_last_ms" INTEGER,
   "n_rec" INTEGER,
   "n_chk" INTEGER,
   "n_evt" INTEGER,
   "n_req" INTEGER,
   "n_cust" INTEGER,
   "n_flt" INTEGER,
   "n_batch" INTEGER,
   "last_batch_hash" TEXT,
   "next_due_ms" INTEGER,
   "webhook_config" TEXT
);
INSERT INTO "workspaces" VALUES(1,'test','release1',1796060603369,'{"seed": 7, "processingDelaySeconds": 1, "verifyDelaySeconds": 2, "sharedRecord": true, "strictMode": false, "cadenceLimitSeconds": null, "planAllotment": null, "limits": {"maxScopeMonths": 24, "maxLastNDays": 90, "maxRetentionDays": 730}, "publicOrigin": "https://billing.example", "webhookDelivery": "auto", "webhookTimestampClock": "virtual", "idempotencyTtlSeconds": 86400, "journalSize": 1000, "embedOrigins": []}','frozen',0,1769940003000,1769940003000,4,0,3,3,0,0,3,'0x2249a3452a2ed93806d5777576c6d22bfd43abe5eec371d5260d887853188784',1769940004000,NULL);
CREATE UNIQUE INDEX idx_workspaces_env_public_id ON workspaces (env, public_id);
CREATE UNIQUE INDEX idx_customers_ws_customer_id ON customers (ws, customer_id);
CREATE UNIQUE INDEX idx_customers_handle ON customers (handle);
CREATE UNIQUE INDEX idx_batches_ws_batch_sequence ON batches (ws, batch_sequence);
CREATE UNIQUE INDEX idx_batches_proof_hash ON batches (proof_hash);
CREATE UNIQUE INDEX idx_deltas_ws_record_id ON deltas (ws, record_id);
CREATE UNIQUE INDEX idx_deltas_customer_sequence ON deltas (customer, sequence);
CREATE UNIQUE INDEX idx_deltas_ws_customer_id_reference_id ON deltas (ws, customer_id, reference_id) WHERE reference_id IS NOT NULL;
CREATE INDEX idx_deltas_customer_status_recorded_ms_sequence_units_frac_hi_frac_lo ON deltas (customer, status, recorded_ms, sequence, units, frac_hi, frac_lo);
CREATE INDEX idx_deltas_receipt_id ON deltas (receipt_id);
CREATE INDEX idx_deltas_customer_recorded_ms ON deltas (customer, recorded_ms);
CREATE INDEX idx_deltas_batch ON deltas (batch);
CREATE INDEX idx_deltas_ws_recorded_ms ON deltas (ws, recorded_ms);
CREATE UNIQUE INDEX idx_checkpoints_ws_checkpoint_id ON checkpoints (ws, checkpoint_id);
CREATE UNIQUE INDEX idx_checkpoints_proof_root ON checkpoints (proof_root);
CREATE INDEX idx_checkpoints_customer_start_ms_end_ms_month_scope_selection_n ON checkpoints (customer, start_ms, end_ms, month_scope, selection, n);
CREATE INDEX idx_checkpoints_ws_n ON checkpoints (ws, n);
CREATE INDEX idx_checkpoints_ws_verify_due_ms ON checkpoints (ws, verify_due_ms) WHERE status = 'QUEUED';
CREATE INDEX idx_batches_ws_processing_due_ms ON batches (ws, processing_due_ms) WHERE state != 'DONE';
CREATE UNIQUE INDEX idx_events_ws_event_id ON events (ws, event_id);
CREATE INDEX idx_events_ws_n ON events (ws, n);
CREATE INDEX idx_events_ws_next_attempt_ms_n ON events (ws, next_attempt_ms, n) WHERE delivery_status = 'pending';
CREATE UNIQUE INDEX idx_fault_rules_ws_n ON fault_rules (ws, n);
CREATE INDEX idx_checkpoint_items_delta ON checkpoint_items (delta);
CREATE INDEX idx_access_attempts_customer_at_ms ON access_attempts (customer, at_ms);
CREATE INDEX idx_journal_ws_seq ON journal (ws, seq);
COMMIT;
PRAGMA user_version = 1;
