BEGIN TRANSACTION;
CREATE TABLE applications (
        id               INTEGER PRIMARY KEY,
        message          INTEGER NOT NULL REFERENCES messages (id),
        round            TEXT NOT NULL,
        applicant        TEXT NOT NULL,
        recommender      TEXT NOT NULL,
        recommender_kind TEXT NOT NULL,
        track            TEXT NOT NULL,
        status           TEXT NOT NULL,
        findings         TEXT NOT NULL,
        fields           TEXT NOT NULL,
        field_confidence TEXT NOT NULL,
        documents        TEXT NOT NULL
    , assessed_status TEXT, assessed_findings TEXT, superseded_by INTEGER, corrected TEXT, field_evidence TEXT NOT NULL DEFAULT '{}');
INSERT INTO "applications" VALUES(1,1,'2019年省级专业技术人员继续教育基地申报','济南职业技术培训学院','济南市人力资源和社会保障局','city','general','accepted','[]','{"applicant": "济南职业技术培训学院", "unit_type": "培训机构", "avg_trainees": 3200, "contact": "王晓梅", "contact_phone": "0531-88016235", "domains": "新一代信息技术、医养健康"}','{"applicant": 0.99, "unit_type": 0.99, "avg_trainees": 0.99, "contact": 0.99, "contact_phone": 0.99, "domains": 0.99}','[]','accepted','[]',NULL,NULL,'{}');
CREATE TABLE builds (
        round   TEXT PRIMARY KEY,
        inputs  TEXT NOT NULL,
        at      TEXT NOT NULL
    );
CREATE TABLE corrections (
        id      INTEGER PRIMARY KEY,
        round   TEXT NOT NULL,
        target  TEXT NOT NULL,          -- A<application id> | M<message id>
        field   TEXT NOT NULL,          -- a field key, applicant, track, status, note, paper
        value   TEXT NOT NULL,          -- JSON
        by      TEXT NOT NULL,
        at      TEXT NOT NULL,
        source  TEXT NOT NULL           -- cli | the imported file's name
    );
INSERT INTO "corrections" VALUES(1,'2019年省级专业技术人员继续教育基地申报','A1','note','"已电话核实"','孙沛沛','2019-09-12T03:00:00+00:00','cli');
CREATE TABLE events (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        message  INTEGER REFERENCES messages (id),
        kind     TEXT NOT NULL,
        detail   TEXT NOT NULL
    );
INSERT INTO "events" VALUES(1,'2019-09-10T02:16:00+00:00',1,'done','submission');
CREATE TABLE messages (
        id               INTEGER PRIMARY KEY,
        round            TEXT NOT NULL,
        mailbox          TEXT NOT NULL,
        validity         TEXT NOT NULL,
        uid              TEXT NOT NULL,
        sha256           TEXT NOT NULL,
        raw_path         TEXT NOT NULL,
        received_at      TEXT NOT NULL,
        state            TEXT NOT NULL DEFAULT 'fetched',   -- fetched | done
        message_id       TEXT,
        subject          TEXT,
        sender           TEXT,
        sender_name      TEXT,
        outcome          TEXT,                              -- submission | ignored | review
        reason           TEXT,
        recommender      TEXT,
        recommender_kind TEXT,
        findings         TEXT NOT NULL DEFAULT '[]',
        documents        TEXT NOT NULL DEFAULT '[]',        -- documents of the message as a whole
        processed_at     TEXT, duplicate_of INTEGER, marked_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, error TEXT, traceback TEXT,
        UNIQUE (mailbox, validity, uid)
    );
INSERT INTO "messages" VALUES(1,'2019年省级专业技术人员继续教育基地申报','maildir:/srv/intake/mail/inbox','1','1','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','/srv/intake/output/raw/2019-09/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.eml','2019-09-10T02:15:00+00:00','done','<jinan-1@mail.jinan.example.cn>','济南市继续教育基地申报','rsj@jinan.example.cn','济南市人社局','submission','','济南市人力资源和社会保障局','city','[]','[{"kind": "letter", "name": "推荐函.pdf", "fields": {}, "listed": ["济南职业技术培训学院"]}]','2019-09-10T02:16:00+00:00',NULL,'2019-09-10T02:16:01+00:00',1,0,NULL,NULL,NULL);
INSERT INTO "messages" VALUES(2,'2019年省级专业技术人员继续教育基地申报','maildir:/srv/intake/mail/inbox','1','2','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','/srv/intake/output/raw/2019-09/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.eml','2019-09-11T01:00:00+00:00','done','<auto@example.cn>','自动回复：您的邮件已收到','auto@example.cn','','ignored','自动回复','','','[]','[]','2019-09-11T01:00:05+00:00',NULL,'2019-09-11T01:00:06+00:00',1,0,NULL,NULL,NULL);
CREATE TABLE receipts (
        id          INTEGER PRIMARY KEY,
        message     INTEGER NOT NULL UNIQUE REFERENCES messages (id),
        receipt_id  TEXT NOT NULL UNIQUE,                   -- the receipt's own Message-ID
        recipient   TEXT NOT NULL,
        raw         BLOB NOT NULL,
        letter      TEXT NOT NULL,                          -- the 受理回执 content, JSON
        state       TEXT NOT NULL,                          -- held | queued | sending | sent | suppressed | failed
        reason      TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        sent_at     TEXT
    , next_attempt_at TEXT, number INTEGER);
INSERT INTO "receipts" VALUES(1,1,'<receipt-1@intake.example.cn>','rsj@jinan.example.cn',X'5375626A6563743A20726563656970740D0A0D0A626F64790D0A','','sent','',1,'2019-09-10T02:16:00+00:00','2019-09-10T02:16:02+00:00',NULL,1);
CREATE TABLE round_assessments (
        round   TEXT PRIMARY KEY,
        at      TEXT NOT NULL,
        data    TEXT NOT NULL           -- JSON: named applicants without a form, the 附件3/附件4 lists
    );
CREATE INDEX messages_sha ON messages (sha256);
CREATE INDEX messages_uid ON messages (mailbox, validity, state);
CREATE INDEX corrections_target ON corrections (round, target);
CREATE INDEX messages_state ON messages (round, state);
CREATE INDEX receipts_state ON receipts (state, next_attempt_at);
CREATE INDEX receipts_sent ON receipts (state, sent_at);
CREATE INDEX applications_message ON applications (message);
CREATE INDEX applications_round ON applications (round);
CREATE INDEX messages_unmarked ON messages (mailbox, validity) WHERE state = 'done' AND marked_at IS NULL;
COMMIT;
PRAGMA user_version = 8;
