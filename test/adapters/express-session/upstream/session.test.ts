// @ts-nocheck -- ported line for line from expressjs/session's test/session.js so that a
// reader can compare the two; the typed tests of the layer are in test/express-session-*.ts.
//
// express-session's own test suite (https://github.com/expressjs/session, test/session.js at
// 2c9512f, MIT licence, (c) 2010 Sencha Inc., 2011 TJ Holowaychuk, 2014-2015 Douglas Christopher
// Wilson), run against sessionkit's compatibility layer. What changed from the original:
//   - mocha's `done` callbacks and `before`/`this` run through the small shim in ./mocha.ts;
//   - the cookie is `__Host-` + name (default `__Host-sid`): NAME and named() below, and sid()
//     reads our `id.secret` value instead of a signed `s:id.signature`;
//   - requests carry `Sec-Fetch-Site: same-origin`, as every browser sends: a cross-site write is
//     refused by design (403), which the original's PUT would otherwise be;
//   - tests that cannot apply or that differ on purpose are marked `na()` or `differs()` with
//     the reason, and the table in docs/migrate-from-express-session.md lists them.
import assert from "node:assert";
import crypto from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";
import supertest from "supertest";
import { after, before, describe, differs, it, na } from "./mocha.js";
import * as utils from "./utils.js";

// `require`, as an express-session app loads it: the factory itself, with its companions.
const require = createRequire(import.meta.url);
const session = require("../../../../dist/adapters/express-session/index.js");
const { Cookie } = session;
const SmartStore = utils.smartStore(session);
const SyncStore = utils.syncStore(session);

const NAME = "__Host-sid";
// With a path other than "/", the prefix is __Secure- (__Host- requires Path=/).
const SECURE_NAME = "__Secure-sid";
const named = (name) => `__Host-${name}`;
const request = (app) => utils.sameOriginRequest(supertest, app);

var min = 60 * 1000;

describe("session()", () => {
  it("should export constructors", () => {
    assert.strictEqual(typeof session.Session, "function");
    assert.strictEqual(typeof session.Store, "function");
    assert.strictEqual(typeof session.MemoryStore, "function");
  });

  it("should do nothing if req.session exists", (done) => {
    function setup(req) {
      req.session = {};
    }

    request(createServer(setup))
      .get("/")
      .expect(shouldNotHaveHeader("Set-Cookie"))
      .expect(200, done);
  });

  differs(
    "should error without secret",
    "an explicitly undefined secret (an unset environment variable) throws at start, where express-session answers 500 on each request; without the option no secret is needed, the cookie being a random id.secret hashed at rest",
    () => {
      assert.throws(() => createServer({ secret: undefined }), /secret is undefined/);
    },
  );

  differs(
    "should get secret from req.secret",
    "an explicitly undefined secret (an unset environment variable) throws at start, where express-session answers 500 on each request; without the option no secret is needed, the cookie being a random id.secret hashed at rest",
    () => {
      function setup(req) {
        req.secret = "keyboard cat";
      }

      assert.throws(() => createServer(setup, { secret: undefined }), /secret is undefined/);
    },
  );

  it("should create a new session", (done) => {
    var store = new session.MemoryStore();
    var server = createServer({ store: store }, (req, res) => {
      req.session.active = true;
      res.end("session active");
    });

    request(server)
      .get("/")
      .expect(shouldSetCookie(NAME))
      .expect(200, "session active", (err, res) => {
        if (err) return done(err);
        store.length((err, len) => {
          if (err) return done(err);
          assert.strictEqual(len, 1);
          done();
        });
      });
  });

  it("should load session from cookie sid", (done) => {
    var count = 0;
    var server = createServer(null, (req, res) => {
      req.session.num = req.session.num || ++count;
      res.end("session " + req.session.num);
    });

    request(server)
      .get("/")
      .expect(shouldSetCookie(NAME))
      .expect(200, "session 1", (err, res) => {
        if (err) return done(err);
        request(server).get("/").set("Cookie", cookie(res)).expect(200, "session 1", done);
      });
  });

  differs(
    "should pass session fetch error",
    "a store that fails answers 503 application/problem+json (code store_unavailable), never the store's own error text, and never a half-saved 200",
    (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        res.end("hello, world");
      });

      store.get = function destroy(sid, callback) {
        callback(new Error("boom!"));
      };

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "hello, world", (err, res) => {
          if (err) return done(err);
          request(server)
            .get("/")
            .set("Cookie", cookie(res))
            .expect("Content-Type", "application/problem+json")
            .expect(503, /store_unavailable/, done);
        });
    },
  );

  it("should treat ENOENT session fetch error as not found", (done) => {
    var count = 0;
    var store = new session.MemoryStore();
    var server = createServer({ store: store }, (req, res) => {
      req.session.num = req.session.num || ++count;
      res.end("session " + req.session.num);
    });

    store.get = function destroy(sid, callback) {
      var err = new Error("boom!");
      err.code = "ENOENT";
      callback(err);
    };

    request(server)
      .get("/")
      .expect(shouldSetCookie(NAME))
      .expect(200, "session 1", (err, res) => {
        if (err) return done(err);
        request(server).get("/").set("Cookie", cookie(res)).expect(200, "session 2", done);
      });
  });

  it("should create multiple sessions", (done) => {
    var cb = after(2, check);
    var count = 0;
    var store = new session.MemoryStore();
    var server = createServer({ store: store }, (req, res) => {
      var isnew = req.session.num === undefined;
      req.session.num = req.session.num || ++count;
      res.end("session " + (isnew ? "created" : "updated"));
    });

    function check(err) {
      if (err) return done(err);
      store.all((err, sess) => {
        if (err) return done(err);
        assert.strictEqual(Object.keys(sess).length, 2);
        done();
      });
    }

    request(server).get("/").expect(200, "session created", cb);

    request(server).get("/").expect(200, "session created", cb);
  });

  it("should handle empty req.url", (done) => {
    function setup(req) {
      req.url = "";
    }

    request(createServer(setup)).get("/").expect(shouldSetCookie(NAME)).expect(200, done);
  });

  it("should handle multiple res.end calls", (done) => {
    var server = createServer(null, (req, res) => {
      res.setHeader("Content-Type", "text/plain");
      res.end("Hello, world!");
      res.end();
    });

    request(server)
      .get("/")
      .expect("Content-Type", "text/plain")
      .expect(200, "Hello, world!", done);
  });

  it("should handle res.end(null) calls", (done) => {
    var server = createServer(null, (req, res) => {
      res.end(null);
    });

    request(server).get("/").expect(200, "", done);
  });

  it("should handle reserved properties in storage", (done) => {
    var count = 0;
    var sid;
    var store = new session.MemoryStore();
    var server = createServer({ store: store }, (req, res) => {
      sid = req.session.id;
      req.session.num = req.session.num || ++count;
      res.end("session saved");
    });

    request(server)
      .get("/")
      .expect(200, "session saved", (err, res) => {
        if (err) return done(err);
        store.get(sid, (err, sess) => {
          if (err) return done(err);
          // save is reserved
          sess.save = "nope";
          store.set(sid, sess, (err) => {
            if (err) return done(err);
            request(server).get("/").set("Cookie", cookie(res)).expect(200, "session saved", done);
          });
        });
      });
  });

  it("should only have session data enumerable (and cookie)", (done) => {
    var server = createServer(null, (req, res) => {
      req.session.test1 = 1;
      req.session.test2 = "b";
      res.end(Object.keys(req.session).sort().join(","));
    });

    request(server).get("/").expect(200, "cookie,test1,test2", done);
  });

  differs(
    "should not save with bogus req.sessionID",
    "req.sessionID is read-only: the id names a store record bound to the cookie's secret, so it is not the app's to set",
    (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.sessionID = () => {};
        req.session.test1 = 1;
        res.end(typeof req.sessionID);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "string", (err) => {
          if (err) return done(err);
          store.length((err, length) => {
            if (err) return done(err);
            assert.strictEqual(length, 1);
            done();
          });
        });
    },
  );

  it("should update cookie expiration when slow write", (done) => {
    var server = createServer({ rolling: true }, (req, res) => {
      req.session.user = "bob";
      res.write("hello, ");
      setTimeout(() => {
        res.end("world!");
      }, 200);
    });

    request(server)
      .get("/")
      .expect(shouldSetCookie(NAME))
      .expect(200, (err, res) => {
        if (err) return done(err);
        var originalExpires = expires(res);
        setTimeout(
          () => {
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetCookie(NAME))
              .expect((res) => {
                assert.notStrictEqual(originalExpires, expires(res));
              })
              .expect(200, done);
          },
          1000 - (Date.now() % 1000) + 200,
        );
      });
  });

  describe("when response ended", () => {
    it("should have saved session", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.hit = true;
        res.end("session saved");
      });

      request(server)
        .get("/")
        .expect(200)
        .expect(shouldSetSessionInStore(store, 200))
        .expect("session saved")
        .end(done);
    });

    it("should have saved session even with empty response", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.hit = true;
        res.setHeader("Content-Length", "0");
        res.end();
      });

      request(server).get("/").expect(200).expect(shouldSetSessionInStore(store, 200)).end(done);
    });

    it("should have saved session even with multi-write", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.hit = true;
        res.setHeader("Content-Length", "12");
        res.write("hello, ");
        res.end("world");
      });

      request(server)
        .get("/")
        .expect(200)
        .expect(shouldSetSessionInStore(store, 200))
        .expect("hello, world")
        .end(done);
    });

    it("should have saved session even with non-chunked response", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.hit = true;
        res.setHeader("Content-Length", "13");
        res.end("session saved");
      });

      request(server)
        .get("/")
        .expect(200)
        .expect(shouldSetSessionInStore(store, 200))
        .expect("session saved")
        .end(done);
    });

    it("should have saved session with updated cookie expiration", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ cookie: { maxAge: min }, store: store }, (req, res) => {
        req.session.user = "bob";
        res.end(req.session.id);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, (err, res) => {
          if (err) return done(err);
          var id = res.text;
          store.get(id, (err, sess) => {
            if (err) return done(err);
            assert.ok(sess, "session saved to store");
            var exp = new Date(sess.cookie.expires);
            assert.strictEqual(exp.toUTCString(), expires(res));
            setTimeout(
              () => {
                request(server)
                  .get("/")
                  .set("Cookie", cookie(res))
                  .expect(200, (err, res) => {
                    if (err) return done(err);
                    store.get(id, (err, sess) => {
                      if (err) return done(err);
                      assert.strictEqual(res.text, id);
                      assert.ok(sess, "session still in store");
                      assert.notStrictEqual(
                        new Date(sess.cookie.expires).toUTCString(),
                        exp.toUTCString(),
                        "session cookie expiration updated",
                      );
                      done();
                    });
                  });
              },
              1000 - (Date.now() % 1000) + 200,
            );
          });
        });
    });
  });

  describe("when sid not in store", () => {
    it("should create a new session", (done) => {
      var count = 0;
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.num = req.session.num || ++count;
        res.end("session " + req.session.num);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "session 1", (err, res) => {
          if (err) return done(err);
          store.clear((err) => {
            if (err) return done(err);
            request(server).get("/").set("Cookie", cookie(res)).expect(200, "session 2", done);
          });
        });
    });

    it("should have a new sid", (done) => {
      var count = 0;
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.num = req.session.num || ++count;
        res.end("session " + req.session.num);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "session 1", (err, res) => {
          if (err) return done(err);
          store.clear((err) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetCookie(NAME))
              .expect(shouldSetCookieToDifferentSessionId(sid(res)))
              .expect(200, "session 2", done);
          });
        });
    });
  });

  describe("when sid not properly signed", () => {
    it("should generate new session", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, key: "sessid" }, (req, res) => {
        var isnew = req.session.active === undefined;
        req.session.active = true;
        res.end("session " + (isnew ? "created" : "read"));
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(named("sessid")))
        .expect(200, "session created", (err, res) => {
          if (err) return done(err);
          var val = sid(res);
          assert.ok(val);
          request(server)
            .get("/")
            .set("Cookie", named("sessid") + "=" + val)
            .expect(shouldSetCookie(named("sessid")))
            .expect(shouldSetCookieToDifferentSessionId(val))
            .expect(200, "session created", done);
        });
    });

    it("should not attempt fetch from store", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, key: "sessid" }, (req, res) => {
        var isnew = req.session.active === undefined;
        req.session.active = true;
        res.end("session " + (isnew ? "created" : "read"));
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(named("sessid")))
        .expect(200, "session created", (err, res) => {
          if (err) return done(err);
          var val = cookie(res).replace(/...\./, ".");

          assert.ok(val);
          request(server)
            .get("/")
            .set("Cookie", val)
            .expect(shouldSetCookie(named("sessid")))
            .expect(200, "session created", done);
        });
    });
  });

  describe("when session expired in store", () => {
    it("should create a new session", (done) => {
      var count = 0;
      var store = new session.MemoryStore();
      var server = createServer({ store: store, cookie: { maxAge: 5 } }, (req, res) => {
        req.session.num = req.session.num || ++count;
        res.end("session " + req.session.num);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "session 1", (err, res) => {
          if (err) return done(err);
          setTimeout(() => {
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetCookie(NAME))
              .expect(200, "session 2", done);
          }, 20);
        });
    });

    it("should have a new sid", (done) => {
      var count = 0;
      var store = new session.MemoryStore();
      var server = createServer({ store: store, cookie: { maxAge: 5 } }, (req, res) => {
        req.session.num = req.session.num || ++count;
        res.end("session " + req.session.num);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "session 1", (err, res) => {
          if (err) return done(err);
          setTimeout(() => {
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetCookie(NAME))
              .expect(shouldSetCookieToDifferentSessionId(sid(res)))
              .expect(200, "session 2", done);
          }, 15);
        });
    });

    it("should not exist in store", (done) => {
      var count = 0;
      var store = new session.MemoryStore();
      var server = createServer({ store: store, cookie: { maxAge: 5 } }, (req, res) => {
        req.session.num = req.session.num || ++count;
        res.end("session " + req.session.num);
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "session 1", (err, res) => {
          if (err) return done(err);
          setTimeout(() => {
            store.all((err, sess) => {
              if (err) return done(err);
              assert.strictEqual(Object.keys(sess).length, 0);
              done();
            });
          }, 10);
        });
    });
  });

  describe("when session without cookie property in store", () => {
    differs(
      "should pass error from inflate",
      "a record without the hash of the cookie's secret is not the session the cookie names: a new session starts instead of an error",
      (done) => {
        var count = 0;
        var store = new session.MemoryStore();
        var server = createServer({ store: store }, (req, res) => {
          req.session.num = req.session.num || ++count;
          res.end("session " + req.session.num);
        });

        request(server)
          .get("/")
          .expect(shouldSetCookie(NAME))
          .expect(200, "session 1", (err, res) => {
            if (err) return done(err);
            store.set(sid(res), { foo: "bar" }, (err) => {
              if (err) return done(err);
              request(server).get("/").set("Cookie", cookie(res)).expect(200, "session 2", done);
            });
          });
      },
    );
  });

  describe("proxy option", () => {
    describe("when enabled", () => {
      var server;
      before(() => {
        server = createServer({ proxy: true, cookie: { secure: true, maxAge: 5 } });
      });

      it("should trust X-Forwarded-Proto when string", (done) => {
        request(server)
          .get("/")
          .set("X-Forwarded-Proto", "https")
          .expect(shouldSetCookie(NAME))
          .expect(200, done);
      });

      it("should trust X-Forwarded-Proto when comma-separated list", (done) => {
        request(server)
          .get("/")
          .set("X-Forwarded-Proto", "https,http")
          .expect(shouldSetCookie(NAME))
          .expect(200, done);
      });

      differs(
        "should work when no header",
        "the cookie is always set, with Secure: browsers keep a Secure cookie only over HTTPS (and on http://localhost), so the server need not guess the scheme from X-Forwarded-Proto or req.secure",
        (done) => {
          request(server)
            .get("/")
            .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
            .expect(200, done);
        },
      );
    });

    describe("when disabled", () => {
      before(function () {
        function setup(req) {
          req.secure = req.headers["x-secure"] ? JSON.parse(req.headers["x-secure"]) : undefined;
        }

        function respond(req, res) {
          res.end(String(req.secure));
        }

        this.server = createServer(setup, { proxy: false, cookie: { secure: true } }, respond);
      });

      differs(
        "should not trust X-Forwarded-Proto",
        "the cookie is always set, with Secure: browsers keep a Secure cookie only over HTTPS (and on http://localhost), so the server need not guess the scheme from X-Forwarded-Proto or req.secure",
        function (done) {
          request(this.server)
            .get("/")
            .set("X-Forwarded-Proto", "https")
            .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
            .expect(200, done);
        },
      );

      differs(
        "should ignore req.secure",
        "the cookie is always set, with Secure: browsers keep a Secure cookie only over HTTPS (and on http://localhost), so the server need not guess the scheme from X-Forwarded-Proto or req.secure",
        function (done) {
          request(this.server)
            .get("/")
            .set("X-Forwarded-Proto", "https")
            .set("X-Secure", "true")
            .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
            .expect(200, "true", done);
        },
      );
    });

    describe("when unspecified", () => {
      before(function () {
        function setup(req) {
          req.secure = req.headers["x-secure"] ? JSON.parse(req.headers["x-secure"]) : undefined;
        }

        function respond(req, res) {
          res.end(String(req.secure));
        }

        this.server = createServer(setup, { cookie: { secure: true } }, respond);
      });

      differs(
        "should not trust X-Forwarded-Proto",
        "the cookie is always set, with Secure: browsers keep a Secure cookie only over HTTPS (and on http://localhost), so the server need not guess the scheme from X-Forwarded-Proto or req.secure",
        function (done) {
          request(this.server)
            .get("/")
            .set("X-Forwarded-Proto", "https")
            .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
            .expect(200, done);
        },
      );

      it("should use req.secure", function (done) {
        request(this.server)
          .get("/")
          .set("X-Forwarded-Proto", "https")
          .set("X-Secure", "true")
          .expect(shouldSetCookie(NAME))
          .expect(200, "true", done);
      });
    });
  });

  describe("cookie option", () => {
    describe('when "path" set to "/foo/bar"', () => {
      before(function () {
        this.server = createServer({ cookie: { path: "/foo/bar" } });
      });

      it('should not set cookie for "/" request', function (done) {
        request(this.server).get("/").expect(shouldNotHaveHeader("Set-Cookie")).expect(200, done);
      });

      it('should not set cookie for "http://foo/bar" request', function (done) {
        request(this.server)
          .get("/")
          .set("host", "http://foo/bar")
          .expect(shouldNotHaveHeader("Set-Cookie"))
          .expect(200, done);
      });

      it('should set cookie for "/foo/bar" request', function (done) {
        request(this.server)
          .get("/foo/bar/baz")
          .expect(shouldSetCookie(SECURE_NAME))
          .expect(200, done);
      });

      it('should set cookie for "/foo/bar/baz" request', function (done) {
        request(this.server)
          .get("/foo/bar/baz")
          .expect(shouldSetCookie(SECURE_NAME))
          .expect(200, done);
      });

      describe('when mounted at "/foo"', () => {
        before(function () {
          this.server = createServer(mountAt("/foo"), { cookie: { path: "/foo/bar" } });
        });

        it('should set cookie for "/foo/bar" request', function (done) {
          request(this.server)
            .get("/foo/bar")
            .expect(shouldSetCookie(SECURE_NAME))
            .expect(200, done);
        });

        it('should not set cookie for "/foo/foo/bar" request', function (done) {
          request(this.server)
            .get("/foo/foo/bar")
            .expect(shouldNotHaveHeader("Set-Cookie"))
            .expect(200, done);
        });
      });
    });

    describe('when "secure" set to "auto"', () => {
      differs(
        "should set secure when X-Forwarded-Proto is https",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ proxy: true, cookie: { maxAge: 5, secure: "auto" } });
          }, /cookie\.secure "auto" is not supported/);
        },
      );
      differs(
        "should not set secure when X-Forwarded-Proto is https",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ proxy: false, cookie: { maxAge: 5, secure: "auto" } });
          }, /cookie\.secure "auto" is not supported/);
        },
      );
      differs(
        "should set secure if req.secure = true",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: "auto" } });
          }, /cookie\.secure "auto" is not supported/);
        },
      );
      differs(
        "should not set secure if req.secure = false",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: "auto" } });
          }, /cookie\.secure "auto" is not supported/);
        },
      );
    });

    describe('when "cookie" is a function', () => {
      differs(
        "should call custom function and apply cookie options",
        "cookie must be an object, fixed at start: the name's prefix (__Host- or __Secure-) depends on the cookie's path and domain",
        () => {
          assert.throws(() => {
            createServer({ cookie: () => ({ path: "/test" }) });
          }, /cookie must be an object/);
        },
      );
      differs(
        "should provide req argument",
        "cookie must be an object, fixed at start: the name's prefix (__Host- or __Secure-) depends on the cookie's path and domain",
        () => {
          assert.throws(() => {
            createServer({ cookie: () => ({ path: "/test" }) });
          }, /cookie must be an object/);
        },
      );
    });

    describe('when "sameSite" set to "auto"', () => {
      differs(
        "should set SameSite=None for secure connections",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set SameSite=Lax for insecure connections",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set SameSite=None when X-Forwarded-Proto is https",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ proxy: true, cookie: { sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set SameSite=Lax when X-Forwarded-Proto is http",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ proxy: true, cookie: { sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set SameSite=Lax when X-Forwarded-Proto is https",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ proxy: false, cookie: { sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set both Secure and SameSite=None when secure",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: "auto", sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set neither Secure nor SameSite=None when insecure",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: "auto", sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set SameSite=None without Secure when secure",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: false, sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set SameSite=Lax without Secure when insecure",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: false, sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should set both Secure and SameSite=None when secure (secure: true)",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: true, sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
      differs(
        "should not set cookie when insecure",
        '"auto" is refused at start: the cookie is always Secure (browsers accept it on http://localhost), so neither Secure nor SameSite=None depends on the scheme',
        () => {
          assert.throws(() => {
            createServer({ cookie: { secure: true, sameSite: "auto" } });
          }, /"auto"|cookie\.secure/);
        },
      );
    });
  });

  describe("genid option", () => {
    it("should reject non-function values", () => {
      assert.throws(session.bind(null, { genid: "bogus!" }), /genid.*must/);
    });

    it("should provide default generator", (done) => {
      request(createServer()).get("/").expect(shouldSetCookie(NAME)).expect(200, done);
    });

    differs(
      "should allow custom function",
      "the cookie value is id.secret, not a signed id: the expected signature cannot match; genid names the id part, checked here",
      (done) => {
        function genid() {
          return "apple";
        }

        request(createServer({ genid: genid }))
          .get("/")
          .expect((res) => {
            assert.ok(utils.parseSetCookie(cookie(res)).value.startsWith("apple."));
          })
          .expect(200, done);
      },
    );

    differs(
      "should encode unsafe chars",
      "genid's ids must be safe as store keys and file names (express-session passed stores only ids it had signed; sessionkit checks them instead): one with % or / is refused, the request answers 500",
      (done) => {
        function genid() {
          return "%";
        }

        request(createServer({ genid: genid }))
          .get("/")
          .expect(shouldNotHaveHeader("Set-Cookie"))
          .expect(500, /genid must return/, done);
      },
    );

    differs(
      "should provide req argument",
      "genid's ids must be safe as store keys and file names (express-session passed stores only ids it had signed; sessionkit checks them instead): one with % or / is refused, the request answers 500",
      (done) => {
        function genid(req) {
          return req.url;
        }

        request(createServer({ genid: genid }))
          .get("/foo")
          .expect(shouldNotHaveHeader("Set-Cookie"))
          .expect(500, /genid must return/, done);
      },
    );
  });

  describe("key option", () => {
    it('should default to "connect.sid"', (done) => {
      request(createServer()).get("/").expect(shouldSetCookie(NAME)).expect(200, done);
    });

    it("should allow overriding", (done) => {
      request(createServer({ key: "session_id" }))
        .get("/")
        .expect(shouldSetCookie(named("session_id")))
        .expect(200, done);
    });
  });

  describe("name option", () => {
    it('should default to "connect.sid"', (done) => {
      request(createServer()).get("/").expect(shouldSetCookie(NAME)).expect(200, done);
    });

    it("should set the cookie name", (done) => {
      request(createServer({ name: "session_id" }))
        .get("/")
        .expect(shouldSetCookie(named("session_id")))
        .expect(200, done);
    });
  });

  describe("rolling option", () => {
    it("should default to false", (done) => {
      var server = createServer(null, (req, res) => {
        req.session.user = "bob";
        res.end();
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, (err, res) => {
          if (err) return done(err);
          request(server)
            .get("/")
            .set("Cookie", cookie(res))
            .expect(shouldNotHaveHeader("Set-Cookie"))
            .expect(200, done);
        });
    });

    it("should force cookie on unmodified session", (done) => {
      var server = createServer({ rolling: true }, (req, res) => {
        req.session.user = "bob";
        res.end();
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, (err, res) => {
          if (err) return done(err);
          request(server)
            .get("/")
            .set("Cookie", cookie(res))
            .expect(shouldSetCookie(NAME))
            .expect(200, done);
        });
    });

    it("should not force cookie on uninitialized session if saveUninitialized option is set to false", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, rolling: true, saveUninitialized: false });

      request(server)
        .get("/")
        .expect(shouldNotSetSessionInStore(store))
        .expect(shouldNotHaveHeader("Set-Cookie"))
        .expect(200, done);
    });

    it("should force cookie and save uninitialized session if saveUninitialized option is set to true", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, rolling: true, saveUninitialized: true });

      request(server)
        .get("/")
        .expect(shouldSetSessionInStore(store))
        .expect(shouldSetCookie(NAME))
        .expect(200, done);
    });

    it("should force cookie and save modified session even if saveUninitialized option is set to false", (done) => {
      var store = new session.MemoryStore();
      var server = createServer(
        { store: store, rolling: true, saveUninitialized: false },
        (req, res) => {
          req.session.user = "bob";
          res.end();
        },
      );

      request(server)
        .get("/")
        .expect(shouldSetSessionInStore(store))
        .expect(shouldSetCookie(NAME))
        .expect(200, done);
    });
  });

  describe("resave option", () => {
    it("should default to true", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.user = "bob";
        res.end();
      });

      request(server)
        .get("/")
        .expect(shouldSetSessionInStore(store))
        .expect(200, (err, res) => {
          if (err) return done(err);
          request(server)
            .get("/")
            .set("Cookie", cookie(res))
            .expect(shouldSetSessionInStore(store))
            .expect(200, done);
        });
    });

    describe("when true", () => {
      it("should force save on unmodified session", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store, resave: true }, (req, res) => {
          req.session.user = "bob";
          res.end();
        });

        request(server)
          .get("/")
          .expect(shouldSetSessionInStore(store))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetSessionInStore(store))
              .expect(200, done);
          });
      });
    });

    describe("when false", () => {
      it("should prevent save on unmodified session", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store, resave: false }, (req, res) => {
          req.session.user = "bob";
          res.end();
        });

        request(server)
          .get("/")
          .expect(shouldSetSessionInStore(store))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldNotSetSessionInStore(store))
              .expect(200, done);
          });
      });

      it("should still save modified session", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ resave: false, store: store }, (req, res) => {
          if (req.method === "PUT") {
            req.session.token = req.url.substr(1);
          }
          res.end("token=" + (req.session.token || ""));
        });

        request(server)
          .put("/w6RHhwaA")
          .expect(200)
          .expect(shouldSetSessionInStore(store))
          .expect("token=w6RHhwaA")
          .end((err, res) => {
            if (err) return done(err);
            var sess = cookie(res);
            request(server)
              .get("/")
              .set("Cookie", sess)
              .expect(200)
              .expect(shouldNotSetSessionInStore(store))
              .expect("token=w6RHhwaA")
              .end((err) => {
                if (err) return done(err);
                request(server)
                  .put("/zfQ3rzM3")
                  .set("Cookie", sess)
                  .expect(200)
                  .expect(shouldSetSessionInStore(store))
                  .expect("token=zfQ3rzM3")
                  .end(done);
              });
          });
      });

      it('should detect a "cookie" property as modified', (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store, resave: false }, (req, res) => {
          req.session.user = req.session.user || {};
          req.session.user.name = "bob";
          req.session.user.cookie = req.session.user.cookie || 0;
          req.session.user.cookie++;
          res.end();
        });

        request(server)
          .get("/")
          .expect(shouldSetSessionInStore(store))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetSessionInStore(store))
              .expect(200, done);
          });
      });

      differs(
        "should pass session touch error",
        "a store that fails answers 503 application/problem+json (code store_unavailable) instead of the route's 200 (the write did not happen, so saying it did would lose data)",
        (done) => {
          var store = new session.MemoryStore();
          var server = createServer({ store: store, resave: false }, (req, res) => {
            req.session.hit = true;
            res.end("session saved");
          });

          store.touch = function touch(sid, sess, callback) {
            callback(new Error("boom!"));
          };

          request(server)
            .get("/")
            .expect(200, "session saved", (err, res) => {
              if (err) return done(err);
              request(server)
                .get("/")
                .set("Cookie", cookie(res))
                .expect("Content-Type", "application/problem+json")
                .expect(503, /store_unavailable/, done);
            });
        },
      );
    });
  });

  describe("saveUninitialized option", () => {
    it("should default to true", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store });

      request(server)
        .get("/")
        .expect(shouldSetSessionInStore(store))
        .expect(shouldSetCookie(NAME))
        .expect(200, done);
    });

    it("should force save of uninitialized session", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, saveUninitialized: true });

      request(server)
        .get("/")
        .expect(shouldSetSessionInStore(store))
        .expect(shouldSetCookie(NAME))
        .expect(200, done);
    });

    it("should prevent save of uninitialized session", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, saveUninitialized: false });

      request(server)
        .get("/")
        .expect(shouldNotSetSessionInStore(store))
        .expect(shouldNotHaveHeader("Set-Cookie"))
        .expect(200, done);
    });

    it("should still save modified session", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, saveUninitialized: false }, (req, res) => {
        req.session.count = req.session.count || 0;
        req.session.count++;
        res.end();
      });

      request(server)
        .get("/")
        .expect(shouldSetSessionInStore(store))
        .expect(shouldSetCookie(NAME))
        .expect(200, done);
    });

    differs(
      "should pass session save error",
      "a store that fails answers 503 application/problem+json (code store_unavailable) instead of the route's 200 (the write did not happen, so saying it did would lose data)",
      (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store, saveUninitialized: true }, (req, res) => {
          res.end("session saved");
        });

        store.set = function destroy(sid, sess, callback) {
          callback(new Error("boom!"));
        };

        request(server)
          .get("/")
          .expect(shouldNotHaveHeader("Set-Cookie"))
          .expect("Content-Type", "application/problem+json")
          .expect(503, /store_unavailable/, done);
      },
    );

    it("should prevent uninitialized session from being touched", (done) => {
      var cb = after(1, done);
      var store = new session.MemoryStore();
      var server = createServer(
        { saveUninitialized: false, store: store, cookie: { maxAge: min } },
        (req, res) => {
          res.end();
        },
      );

      store.touch = () => {
        cb(new Error("should not be called"));
      };

      request(server).get("/").expect(200, cb);
    });
  });

  describe("secret option", () => {
    it("should reject empty arrays", () => {
      assert.throws(createServer.bind(null, { secret: [] }), /secret option array/);
    });

    it("should sign and unsign with a string", (done) => {
      var server = createServer({ secret: "awesome cat" }, (req, res) => {
        if (!req.session.user) {
          req.session.user = "bob";
          res.end("set");
        } else {
          res.end("get:" + JSON.stringify(req.session.user));
        }
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "set", (err, res) => {
          if (err) return done(err);
          request(server).get("/").set("Cookie", cookie(res)).expect(200, 'get:"bob"', done);
        });
    });

    it("should sign and unsign with a Buffer", (done) => {
      var server = createServer({ secret: crypto.randomBytes(32) }, (req, res) => {
        if (!req.session.user) {
          req.session.user = "bob";
          res.end("set");
        } else {
          res.end("get:" + JSON.stringify(req.session.user));
        }
      });

      request(server)
        .get("/")
        .expect(shouldSetCookie(NAME))
        .expect(200, "set", (err, res) => {
          if (err) return done(err);
          request(server).get("/").set("Cookie", cookie(res)).expect(200, 'get:"bob"', done);
        });
    });

    describe("when an array", () => {
      it("should sign cookies", (done) => {
        var server = createServer({ secret: ["keyboard cat", "nyan cat"] }, (req, res) => {
          req.session.user = "bob";
          res.end(req.session.user);
        });

        request(server).get("/").expect(shouldSetCookie(NAME)).expect(200, "bob", done);
      });

      na(
        "should sign cookies with first element",
        "the cookie is not signed: the secrets only read old express-session cookies (see 'should read cookies using all elements')",
      );

      it("should read cookies using all elements", (done) => {
        var store = new session.MemoryStore();

        var server1 = createServer({ secret: "nyan cat", store: store }, (req, res) => {
          req.session.user = "bob";
          res.end(req.session.user);
        });

        var server2 = createServer(
          { secret: ["keyboard cat", "nyan cat"], store: store },
          (req, res) => {
            res.end(String(req.session.user));
          },
        );

        request(server1)
          .get("/")
          .expect(shouldSetCookie(NAME))
          .expect(200, "bob", (err, res) => {
            if (err) return done(err);
            request(server2).get("/").set("Cookie", cookie(res)).expect(200, "bob", done);
          });
      });
    });
  });

  describe("unset option", () => {
    it("should reject unknown values", () => {
      assert.throws(session.bind(null, { unset: "bogus!" }), /unset.*must/);
    });

    it("should default to keep", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.count = req.session.count || 0;
        req.session.count++;
        if (req.session.count === 2) req.session = null;
        res.end();
      });

      request(server)
        .get("/")
        .expect(200, (err, res) => {
          if (err) return done(err);
          store.length((err, len) => {
            if (err) return done(err);
            assert.strictEqual(len, 1);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(200, (err, res) => {
                if (err) return done(err);
                store.length((err, len) => {
                  if (err) return done(err);
                  assert.strictEqual(len, 1);
                  done();
                });
              });
          });
        });
    });

    it("should allow destroy on req.session = null", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, unset: "destroy" }, (req, res) => {
        req.session.count = req.session.count || 0;
        req.session.count++;
        if (req.session.count === 2) req.session = null;
        res.end();
      });

      request(server)
        .get("/")
        .expect(200, (err, res) => {
          if (err) return done(err);
          store.length((err, len) => {
            if (err) return done(err);
            assert.strictEqual(len, 1);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(200, (err, res) => {
                if (err) return done(err);
                store.length((err, len) => {
                  if (err) return done(err);
                  assert.strictEqual(len, 0);
                  done();
                });
              });
          });
        });
    });

    it("should not set cookie if initial session destroyed", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store, unset: "destroy" }, (req, res) => {
        req.session = null;
        res.end();
      });

      request(server)
        .get("/")
        .expect(shouldNotHaveHeader("Set-Cookie"))
        .expect(200, (err, res) => {
          if (err) return done(err);
          store.length((err, len) => {
            if (err) return done(err);
            assert.strictEqual(len, 0);
            done();
          });
        });
    });

    differs(
      "should pass session destroy error",
      "a store that fails answers 503 application/problem+json (code store_unavailable) instead of the route's 200 (the write did not happen, so saying it did would lose data); a session never stored has nothing to destroy, so this one is stored first",
      (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store, unset: "destroy" }, (req, res) => {
          if (req.session.saved) req.session = null;
          else req.session.saved = true;
          res.end("session destroyed");
        });

        request(server)
          .get("/")
          .expect(200, (err, res) => {
            if (err) return done(err);
            store.destroy = function destroy(sid, callback) {
              callback(new Error("boom!"));
            };
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect("Content-Type", "application/problem+json")
              .expect(503, /store_unavailable/, done);
          });
      },
    );
  });

  describe("res.end patch", () => {
    it("should correctly handle res.end/res.write patched prior", (done) => {
      function setup(req, res) {
        utils.writePatch(res);
      }

      function respond(req, res) {
        req.session.hit = true;
        res.write("hello, ");
        res.end("world");
      }

      request(createServer(setup, null, respond))
        .get("/")
        .expect(200, "hello, world", done);
    });

    it("should correctly handle res.end/res.write patched after", (done) => {
      function respond(req, res) {
        utils.writePatch(res);
        req.session.hit = true;
        res.write("hello, ");
        res.end("world");
      }

      request(createServer(null, respond)).get("/").expect(200, "hello, world", done);
    });

    it("should error when res.end is called twice", (done) => {
      var error1 = null;
      var error2 = null;
      var server = http.createServer((req, res) => {
        res.end();

        try {
          res.setHeader("Content-Length", "3");
          res.end("foo");
        } catch (e) {
          error1 = e;
        }
      });

      function respond(req, res) {
        res.end();

        try {
          res.setHeader("Content-Length", "3");
          res.end("foo");
        } catch (e) {
          error2 = e;
        }
      }

      request(server)
        .get("/")
        .end((err, res) => {
          if (err) return done(err);
          request(createServer(null, respond))
            .get("/")
            .expect(() => {
              assert.strictEqual(error1 && error1.message, error2 && error2.message);
            })
            .expect(res.statusCode, res.text, done);
        });
    });
  });

  describe("req.session", () => {
    it("should persist", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.count = req.session.count || 0;
        req.session.count++;
        res.end("hits: " + req.session.count);
      });

      request(server)
        .get("/")
        .expect(200, "hits: 1", (err, res) => {
          if (err) return done(err);
          store.load(sid(res), (err, sess) => {
            if (err) return done(err);
            assert.ok(sess);
            request(server).get("/").set("Cookie", cookie(res)).expect(200, "hits: 2", done);
          });
        });
    });

    it("should only set-cookie when modified", (done) => {
      var modify = true;
      var server = createServer(null, (req, res) => {
        if (modify) {
          req.session.count = req.session.count || 0;
          req.session.count++;
        }
        res.end(req.session.count.toString());
      });

      request(server)
        .get("/")
        .expect(200, "1", (err, res) => {
          if (err) return done(err);
          request(server)
            .get("/")
            .set("Cookie", cookie(res))
            .expect(200, "2", (err, res) => {
              if (err) return done(err);
              var val = cookie(res);
              modify = false;

              request(server)
                .get("/")
                .set("Cookie", val)
                .expect(shouldNotHaveHeader("Set-Cookie"))
                .expect(200, "2", (err, res) => {
                  if (err) return done(err);
                  modify = true;

                  request(server)
                    .get("/")
                    .set("Cookie", val)
                    .expect(shouldSetCookie(NAME))
                    .expect(200, "3", done);
                });
            });
        });
    });

    it("should not have enumerable methods", (done) => {
      var server = createServer(null, (req, res) => {
        req.session.foo = "foo";
        req.session.bar = "bar";
        var keys = [];
        for (var key in req.session) {
          keys.push(key);
        }
        res.end(keys.sort().join(","));
      });

      request(server).get("/").expect(200, "bar,cookie,foo", done);
    });

    it("should not be set if store is disconnected", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        res.end(typeof req.session);
      });

      store.emit("disconnect");

      request(server)
        .get("/")
        .expect(shouldNotHaveHeader("Set-Cookie"))
        .expect(200, "undefined", done);
    });

    it("should be set when store reconnects", (done) => {
      var store = new session.MemoryStore();
      var server = createServer({ store: store }, (req, res) => {
        res.end(typeof req.session);
      });

      store.emit("disconnect");

      request(server)
        .get("/")
        .expect(shouldNotHaveHeader("Set-Cookie"))
        .expect(200, "undefined", (err) => {
          if (err) return done(err);

          store.emit("connect");

          request(server).get("/").expect(200, "object", done);
        });
    });

    describe(".destroy()", () => {
      it("should destroy the previous session", (done) => {
        var server = createServer(null, (req, res) => {
          req.session.destroy((err) => {
            if (err) res.statusCode = 500;
            res.end(String(req.session));
          });
        });

        request(server)
          .get("/")
          .expect(shouldNotHaveHeader("Set-Cookie"))
          .expect(200, "undefined", done);
      });
    });

    describe(".regenerate()", () => {
      it("should destroy/replace the previous session", (done) => {
        var server = createServer(null, (req, res) => {
          var id = req.session.id;
          req.session.regenerate((err) => {
            if (err) res.statusCode = 500;
            res.end(String(req.session.id === id));
          });
        });

        request(server)
          .get("/")
          .expect(shouldSetCookie(NAME))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetCookie(NAME))
              .expect(shouldSetCookieToDifferentSessionId(sid(res)))
              .expect(200, "false", done);
          });
      });
    });

    describe(".reload()", () => {
      it("should reload session from store", (done) => {
        var server = createServer(null, (req, res) => {
          if (req.url === "/") {
            req.session.active = true;
            res.end("session created");
            return;
          }

          req.session.url = req.url;

          if (req.url === "/bar") {
            res.end("saw " + req.session.url);
            return;
          }

          request(server)
            .get("/bar")
            .set("Cookie", val)
            .expect(200, "saw /bar", (err, resp) => {
              if (err) return done(err);
              req.session.reload((err) => {
                if (err) return done(err);
                res.end("saw " + req.session.url);
              });
            });
        });
        var val;

        request(server)
          .get("/")
          .expect(200, "session created", (err, res) => {
            if (err) return done(err);
            val = cookie(res);
            request(server).get("/foo").set("Cookie", val).expect(200, "saw /bar", done);
          });
      });

      it("should error is session missing", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store }, (req, res) => {
          if (req.url === "/") {
            req.session.active = true;
            res.end("session created");
            return;
          }

          store.clear((err) => {
            if (err) return done(err);
            req.session.reload((err) => {
              res.statusCode = err ? 500 : 200;
              res.end(err ? err.message : "");
            });
          });
        });

        request(server)
          .get("/")
          .expect(200, "session created", (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/foo")
              .set("Cookie", cookie(res))
              .expect(500, "failed to load session", done);
          });
      });

      it("should not override an overridden `reload` in case of errors", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store, resave: false }, (req, res) => {
          if (req.url === "/") {
            req.session.active = true;
            res.end("session created");
            return;
          }

          store.clear((err) => {
            if (err) return done(err);

            // reload way too many times on top of each other,
            // attempting to overflow the call stack
            var iters = 20;
            reload();
            function reload() {
              if (!--iters) {
                res.end("ok");
                return;
              }

              try {
                req.session.reload(reload);
              } catch (e) {
                res.statusCode = 500;
                res.end(e.message);
              }
            }
          });
        });

        request(server)
          .get("/")
          .expect(200, "session created", (err, res) => {
            if (err) return done(err);
            request(server).get("/foo").set("Cookie", cookie(res)).expect(200, "ok", done);
          });
      });
    });

    describe(".save()", () => {
      it("should save session to store", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store }, (req, res) => {
          req.session.hit = true;
          req.session.save((err) => {
            if (err) return res.end(err.message);
            store.get(req.session.id, (err, sess) => {
              if (err) return res.end(err.message);
              res.end(sess ? "stored" : "empty");
            });
          });
        });

        request(server).get("/").expect(200, "stored", done);
      });

      it("should prevent end-of-request save", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store }, (req, res) => {
          req.session.hit = true;
          req.session.save((err) => {
            if (err) return res.end(err.message);
            res.end("saved");
          });
        });

        request(server)
          .get("/")
          .expect(shouldSetSessionInStore(store))
          .expect(200, "saved", (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetSessionInStore(store))
              .expect(200, "saved", done);
          });
      });

      it("should prevent end-of-request save on reloaded session", (done) => {
        var store = new session.MemoryStore();
        var server = createServer({ store: store }, (req, res) => {
          req.session.hit = true;
          req.session.reload(() => {
            req.session.save((err) => {
              if (err) return res.end(err.message);
              res.end("saved");
            });
          });
        });

        request(server)
          .get("/")
          .expect(shouldSetSessionInStore(store))
          .expect(200, "saved", (err, res) => {
            if (err) return done(err);
            request(server)
              .get("/")
              .set("Cookie", cookie(res))
              .expect(shouldSetSessionInStore(store))
              .expect(200, "saved", done);
          });
      });

      describe("when saveUninitialized is false", () => {
        it("should prevent end-of-request save", (done) => {
          var store = new session.MemoryStore();
          var server = createServer({ saveUninitialized: false, store: store }, (req, res) => {
            req.session.hit = true;
            req.session.save((err) => {
              if (err) return res.end(err.message);
              res.end("saved");
            });
          });

          request(server)
            .get("/")
            .expect(shouldSetSessionInStore(store))
            .expect(200, "saved", (err, res) => {
              if (err) return done(err);
              request(server)
                .get("/")
                .set("Cookie", cookie(res))
                .expect(shouldSetSessionInStore(store))
                .expect(200, "saved", done);
            });
        });
      });
    });

    describe(".touch()", () => {
      it("should reset session expiration", (done) => {
        var store = new session.MemoryStore();
        var server = createServer(
          { resave: false, store: store, cookie: { maxAge: min } },
          (req, res) => {
            req.session.hit = true;
            req.session.touch();
            res.end();
          },
        );

        request(server)
          .get("/")
          .expect(200, (err, res) => {
            if (err) return done(err);
            var id = sid(res);
            store.get(id, (err, sess) => {
              if (err) return done(err);
              var exp = new Date(sess.cookie.expires);
              setTimeout(() => {
                request(server)
                  .get("/")
                  .set("Cookie", cookie(res))
                  .expect(200, (err, res) => {
                    if (err) return done(err);
                    store.get(id, (err, sess) => {
                      if (err) return done(err);
                      assert.notStrictEqual(new Date(sess.cookie.expires).getTime(), exp.getTime());
                      done();
                    });
                  });
              }, 100);
            });
          });
      });
    });

    describe(".cookie", () => {
      describe(".*", () => {
        differs(
          "should serialize as parameters",
          "HttpOnly is always set: a session cookie that scripts can read is stolen by any XSS",
          (done) => {
            var server = createServer({ proxy: true }, (req, res) => {
              req.session.cookie.httpOnly = false;
              req.session.cookie.secure = true;
              res.end();
            });

            request(server)
              .get("/")
              .set("X-Forwarded-Proto", "https")
              .expect(shouldSetCookieWithAttribute(NAME, "HttpOnly"))
              .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
              .expect(200, done);
          },
        );

        it("should default to a browser-session length cookie", (done) => {
          request(createServer({ cookie: { path: "/admin" } }))
            .get("/admin")
            .expect(shouldSetCookieWithoutAttribute(SECURE_NAME, "Expires"))
            .expect(200, done);
        });

        it("should Set-Cookie only once for browser-session cookies", (done) => {
          var server = createServer({ cookie: { path: "/admin" } });

          request(server)
            .get("/admin/foo")
            .expect(shouldSetCookie(SECURE_NAME))
            .expect(200, (err, res) => {
              if (err) return done(err);
              request(server)
                .get("/admin")
                .set("Cookie", cookie(res))
                .expect(shouldNotHaveHeader("Set-Cookie"))
                .expect(200, done);
            });
        });

        differs(
          "should override defaults",
          "HttpOnly is always set: a session cookie that scripts can read is stolen by any XSS, so httpOnly: false is refused at start (path, maxAge, priority and secure are honoured, see the tests around)",
          () => {
            var opts = {
              httpOnly: false,
              maxAge: 5000,
              path: "/admin",
              priority: "high",
              secure: true,
            };
            assert.throws(() => {
              createServer({ cookie: opts });
            }, /httpOnly false is refused/);
          },
        );

        differs(
          "should forward errors setting cookie",
          "a bad cookie option throws when the middleware is made, not on the first request",
          () => {
            assert.throws(() => {
              createServer({ cookie: { expires: new Date(NaN) } });
            }, /cookie.expires must be a valid Date/);
          },
        );

        it("should preserve cookies set before writeHead is called", (done) => {
          var server = createServer(null, (req, res) => {
            var cookie = new Cookie();
            res.setHeader("Set-Cookie", cookie.serialize("previous", "cookieValue"));
            res.end();
          });

          request(server)
            .get("/")
            .expect(shouldSetCookieToValue("previous", "cookieValue"))
            .expect(200, done);
        });

        it("should preserve cookies set in writeHead", (done) => {
          var server = createServer(null, (req, res) => {
            var cookie = new Cookie();
            res.writeHead(200, {
              "Set-Cookie": cookie.serialize("previous", "cookieValue"),
            });
            res.end();
          });

          request(server)
            .get("/")
            .expect(shouldSetCookieToValue("previous", "cookieValue"))
            .expect(200, done);
        });
      });

      describe(".originalMaxAge", () => {
        it("should equal original maxAge", (done) => {
          var server = createServer({ cookie: { maxAge: 2000 } }, (req, res) => {
            res.end(JSON.stringify(req.session.cookie.originalMaxAge));
          });

          request(server)
            .get("/")
            .expect(200)
            .expect((res) => {
              // account for 1ms latency
              assert.ok(
                res.text === "2000" || res.text === "1999",
                "expected 2000, got " + res.text,
              );
            })
            .end(done);
        });

        it("should equal original maxAge for all requests", (done) => {
          var server = createServer({ cookie: { maxAge: 2000 } }, (req, res) => {
            res.end(JSON.stringify(req.session.cookie.originalMaxAge));
          });

          request(server)
            .get("/")
            .expect(200)
            .expect((res) => {
              // account for 1ms latency
              assert.ok(
                res.text === "2000" || res.text === "1999",
                "expected 2000, got " + res.text,
              );
            })
            .end((err, res) => {
              if (err) return done(err);
              setTimeout(() => {
                request(server)
                  .get("/")
                  .set("Cookie", cookie(res))
                  .expect(200)
                  .expect((res) => {
                    // account for 1ms latency
                    assert.ok(
                      res.text === "2000" || res.text === "1999",
                      "expected 2000, got " + res.text,
                    );
                  })
                  .end(done);
              }, 100);
            });
        });

        it("should equal original maxAge for all requests", (done) => {
          var store = new SmartStore();
          var server = createServer({ cookie: { maxAge: 2000 }, store: store }, (req, res) => {
            res.end(JSON.stringify(req.session.cookie.originalMaxAge));
          });

          request(server)
            .get("/")
            .expect(200)
            .expect((res) => {
              // account for 1ms latency
              assert.ok(
                res.text === "2000" || res.text === "1999",
                "expected 2000, got " + res.text,
              );
            })
            .end((err, res) => {
              if (err) return done(err);
              setTimeout(() => {
                request(server)
                  .get("/")
                  .set("Cookie", cookie(res))
                  .expect(200)
                  .expect((res) => {
                    // account for 1ms latency
                    assert.ok(
                      res.text === "2000" || res.text === "1999",
                      "expected 2000, got " + res.text,
                    );
                  })
                  .end(done);
              }, 100);
            });
        });
      });

      describe(".secure", () => {
        var app;

        before(() => {
          app = createRequestListener({ secret: "keyboard cat", cookie: { secure: true } });
        });

        differs(
          "should set cookie when secure",
          "the cookie is set on every scheme with Secure (the browser keeps it only over HTTPS or on localhost), so it is set over plain HTTP too",
          (done) => {
            request(http.createServer(app))
              .get("/")
              .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
              .expect(200, done);
          },
        );

        differs(
          "should not set-cookie when insecure",
          "the cookie is set on every scheme with Secure (the browser keeps it only over HTTPS or on localhost), so it is set over plain HTTP too",
          (done) => {
            var server = http.createServer(app);

            request(server)
              .get("/")
              .expect(shouldSetCookieWithAttribute(NAME, "Secure"))
              .expect(200, done);
          },
        );
      });

      describe(".maxAge", () => {
        before(function (done) {
          this.cookie = "";
          this.server = createServer({ cookie: { maxAge: 2000 } }, (req, res) => {
            switch (++req.session.count) {
              case 1:
                break;
              case 2:
                req.session.cookie.maxAge = 5000;
                break;
              case 3:
                req.session.cookie.maxAge = 3000000000;
                break;
              default:
                req.session.count = 0;
                break;
            }
            res.end(req.session.count.toString());
          });

          request(this.server)
            .get("/")
            .end((err, res) => {
              this.cookie = res && cookie(res);
              done(err);
            });
        });

        it("should set cookie expires relative to maxAge", function (done) {
          request(this.server)
            .get("/")
            .set("Cookie", this.cookie)
            .expect(shouldSetCookieToExpireIn(NAME, 2000))
            .expect(200, "1", done);
        });

        it("should modify cookie expires when changed", function (done) {
          request(this.server)
            .get("/")
            .set("Cookie", this.cookie)
            .expect(shouldSetCookieToExpireIn(NAME, 5000))
            .expect(200, "2", done);
        });

        it("should modify cookie expires when changed to large value", function (done) {
          request(this.server)
            .get("/")
            .set("Cookie", this.cookie)
            .expect(shouldSetCookieToExpireIn(NAME, 3000000000))
            .expect(200, "3", done);
        });
      });

      describe(".expires", () => {
        describe("when given a Date", () => {
          it("should set absolute", (done) => {
            var server = createServer(null, (req, res) => {
              req.session.cookie.expires = new Date(0);
              res.end();
            });

            request(server)
              .get("/")
              .expect(
                shouldSetCookieWithAttributeAndValue(
                  NAME,
                  "Expires",
                  "Thu, 01 Jan 1970 00:00:00 GMT",
                ),
              )
              .expect(200, done);
          });
        });

        describe("when null", () => {
          it("should be a browser-session cookie", (done) => {
            var server = createServer(null, (req, res) => {
              req.session.cookie.expires = null;
              res.end();
            });

            request(server)
              .get("/")
              .expect(shouldSetCookieWithoutAttribute(NAME, "Expires"))
              .expect(200, done);
          });

          it("should not reset cookie", (done) => {
            var server = createServer(null, (req, res) => {
              req.session.cookie.expires = null;
              res.end();
            });

            request(server)
              .get("/")
              .expect(shouldSetCookieWithoutAttribute(NAME, "Expires"))
              .expect(200, (err, res) => {
                if (err) return done(err);
                request(server)
                  .get("/")
                  .set("Cookie", cookie(res))
                  .expect(shouldNotHaveHeader("Set-Cookie"))
                  .expect(200, done);
              });
          });

          it("should not reset cookie when modified", (done) => {
            var server = createServer(null, (req, res) => {
              req.session.cookie.expires = null;
              req.session.hit = (req.session.hit || 0) + 1;
              res.end();
            });

            request(server)
              .get("/")
              .expect(shouldSetCookieWithoutAttribute(NAME, "Expires"))
              .expect(200, (err, res) => {
                if (err) return done(err);
                request(server)
                  .get("/")
                  .set("Cookie", cookie(res))
                  .expect(shouldNotHaveHeader("Set-Cookie"))
                  .expect(200, done);
              });
          });
        });
      });

      describe(".partitioned", () => {
        describe("by default", () => {
          it("should not set partitioned attribute", (done) => {
            var server = createServer();

            request(server)
              .get("/")
              .expect(shouldSetCookieWithoutAttribute(NAME, "Partitioned"))
              .expect(200, done);
          });
        });

        describe('when "false"', () => {
          it("should not set partitioned attribute", (done) => {
            var server = createServer({ cookie: { partitioned: false } });

            request(server)
              .get("/")
              .expect(shouldSetCookieWithoutAttribute(NAME, "Partitioned"))
              .expect(200, done);
          });
        });

        describe('when "true"', () => {
          it("should set partitioned attribute", (done) => {
            var server = createServer({ cookie: { partitioned: true } });

            request(server)
              .get("/")
              .expect(shouldSetCookieWithAttribute(NAME, "Partitioned"))
              .expect(200, done);
          });
        });
      });
    });
  });

  describe("synchronous store", () => {
    it("should respond correctly on save", (done) => {
      var store = new SyncStore();
      var server = createServer({ store: store }, (req, res) => {
        req.session.count = req.session.count || 0;
        req.session.count++;
        res.end("hits: " + req.session.count);
      });

      request(server).get("/").expect(200, "hits: 1", done);
    });

    it("should respond correctly on destroy", (done) => {
      var store = new SyncStore();
      var server = createServer({ store: store, unset: "destroy" }, (req, res) => {
        req.session.count = req.session.count || 0;
        var count = ++req.session.count;
        if (req.session.count > 1) {
          req.session = null;
          res.write("destroyed\n");
        }
        res.end("hits: " + count);
      });

      request(server)
        .get("/")
        .expect(200, "hits: 1", (err, res) => {
          if (err) return done(err);
          request(server)
            .get("/")
            .set("Cookie", cookie(res))
            .expect(200, "destroyed\nhits: 2", done);
        });
    });
  });

  describe("cookieParser()", () => {
    na(
      "should read from req.cookies",
      "express-session reads cookie-parser's req.cookies and req.signedCookies; sessionkit reads the Cookie header itself (an auth cookie must be unique and unsigned)",
    );

    na(
      "should reject unsigned from req.cookies",
      "express-session reads cookie-parser's req.cookies and req.signedCookies; sessionkit reads the Cookie header itself (an auth cookie must be unique and unsigned)",
    );

    na(
      "should reject invalid signature from req.cookies",
      "express-session reads cookie-parser's req.cookies and req.signedCookies; sessionkit reads the Cookie header itself (an auth cookie must be unique and unsigned)",
    );

    na(
      "should read from req.signedCookies",
      "express-session reads cookie-parser's req.cookies and req.signedCookies; sessionkit reads the Cookie header itself (an auth cookie must be unique and unsigned)",
    );
  });
});

function cookie(res) {
  var setCookie = res.headers["set-cookie"];
  return (setCookie && setCookie[0]) || undefined;
}

function createServer(options, respond) {
  var fn = respond;
  var opts = options;
  var server = http.createServer();

  // setup, options, respond
  if (typeof arguments[0] === "function") {
    opts = arguments[1];
    fn = arguments[2];

    server.on("request", arguments[0]);
  }

  return server.on("request", createRequestListener(opts, fn));
}

function createRequestListener(opts, fn) {
  var _session = createSession(opts);
  var respond = fn || end;

  return function onRequest(req, res) {
    _session(req, res, (err) => {
      if (err && !res._header) {
        res.statusCode = err.status || 500;
        res.end(err.message);
        return;
      }

      if (err) {
        this.emit("error", err);
        return;
      }

      respond(req, res);
    });
  };
}

function createSession(opts) {
  var options = opts || {};

  if (!("cookie" in options)) {
    options.cookie = { maxAge: 60 * 1000 };
  }

  if (!("secret" in options)) {
    options.secret = "keyboard cat";
  }

  return session(options);
}

function end(req, res) {
  res.end();
}

function expires(res) {
  var header = cookie(res);
  return header && utils.parseSetCookie(header).expires;
}

function mountAt(path) {
  return (req, res) => {
    if (req.url.indexOf(path) === 0) {
      req.originalUrl = req.url;
      req.url = req.url.slice(path.length);
    }
  };
}

function shouldNotHaveHeader(header) {
  return (res) => {
    assert.ok(!(header.toLowerCase() in res.headers), "should not have " + header + " header");
  };
}

function shouldNotSetSessionInStore(store) {
  var _set = store.set;
  var count = 0;

  store.set = function set() {
    count++;
    return _set.apply(this, arguments);
  };

  return () => {
    assert.ok(count === 0, "should not set session in store");
  };
}

function shouldSetCookie(name) {
  return (res) => {
    var header = cookie(res);
    var data = header && utils.parseSetCookie(header);
    assert.ok(header, "should have a cookie header");
    assert.strictEqual(data.name, name, "should set cookie " + name);
  };
}

function shouldSetCookieToDifferentSessionId(id) {
  return (res) => {
    assert.notStrictEqual(sid(res), id);
  };
}

function shouldSetCookieToExpireIn(name, delta) {
  return (res) => {
    var header = cookie(res);
    var data = header && utils.parseSetCookie(header);
    assert.ok(header, "should have a cookie header");
    assert.strictEqual(data.name, name, "should set cookie " + name);
    assert.ok("expires" in data, "should set cookie with attribute Expires");
    assert.ok("date" in res.headers, "should have a date header");
    assert.strictEqual(
      Date.parse(data.expires) - Date.parse(res.headers.date),
      delta,
      "should set cookie " + name + " to expire in " + delta + " ms",
    );
  };
}

function shouldSetCookieToValue(name, val) {
  return (res) => {
    var header = cookie(res);
    var data = header && utils.parseSetCookie(header);
    assert.ok(header, "should have a cookie header");
    assert.strictEqual(data.name, name, "should set cookie " + name);
    assert.strictEqual(data.value, val, "should set cookie " + name + " to " + val);
  };
}

function shouldSetCookieWithAttribute(name, attrib) {
  return (res) => {
    var header = cookie(res);
    var data = header && utils.parseSetCookie(header);
    assert.ok(header, "should have a cookie header");
    assert.strictEqual(data.name, name, "should set cookie " + name);
    assert.ok(attrib.toLowerCase() in data, "should set cookie with attribute " + attrib);
  };
}

function shouldSetCookieWithAttributeAndValue(name, attrib, value) {
  return (res) => {
    var header = cookie(res);
    var data = header && utils.parseSetCookie(header);
    assert.ok(header, "should have a cookie header");
    assert.strictEqual(data.name, name, "should set cookie " + name);
    assert.ok(attrib.toLowerCase() in data, "should set cookie with attribute " + attrib);
    assert.strictEqual(
      data[attrib.toLowerCase()],
      value,
      "should set cookie with attribute " + attrib + " set to " + value,
    );
  };
}

function shouldSetCookieWithoutAttribute(name, attrib) {
  return (res) => {
    var header = cookie(res);
    var data = header && utils.parseSetCookie(header);
    assert.ok(header, "should have a cookie header");
    assert.strictEqual(data.name, name, "should set cookie " + name);
    assert.ok(!(attrib.toLowerCase() in data), "should set cookie without attribute " + attrib);
  };
}

function shouldSetSessionInStore(store, delay) {
  var _set = store.set;
  var count = 0;

  store.set = function set() {
    count++;

    if (!delay) {
      return _set.apply(this, arguments);
    }

    var args = new Array(arguments.length + 1);

    args[0] = this;
    for (var i = 1; i < args.length; i++) {
      args[i] = arguments[i - 1];
    }

    setTimeout(_set.bind.apply(_set, args), delay);
  };

  return () => {
    assert.ok(count === 1, "should set session in store");
  };
}

// sessionkit: the cookie is `id.secret`; the id names the session in the store.
function sid(res) {
  var header = cookie(res);
  var data = header && utils.parseSetCookie(header);
  var value = data && decodeURIComponent(data.value);
  var sid = value && value.substring(0, value.lastIndexOf("."));
  return sid || undefined;
}
