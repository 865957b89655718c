"""REST handlers of the Experiments sidebar, under ``<base_url>/jupyter-mlops/api/``.

Handlers are thin: parse with :mod:`.schemas`, call the same :mod:`jupyter_mlops.app` use cases as the CLI over
the service's workspace, serialise with :mod:`.schemas`. Every verb is ``@tornado.web.authenticated`` and
``@authorized`` (jupyter_server's authorizer, resource ``jupyter_mlops``); PATCH, POST and DELETE are XSRF-checked
by ``APIHandler`` itself. Errors are translated in exactly one place, :meth:`BaseHandler.write_error`. Blocking
store calls run on a small thread pool so a slow database never stalls the server's event loop; a reproduction
runs as a background job (:mod:`.jobs`) that ``GET jobs/{id}`` polls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import orjson
import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop

from jupyter_mlops import _version
from jupyter_mlops.app import artifact_diff, compare, model_json, models, runs, slicing, sweep, sync
from jupyter_mlops.entities import ModelEvent
from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound, http_status
from jupyter_mlops.server import schemas
from jupyter_mlops.server.service import MlopsService

T = TypeVar("T")
SETTINGS_KEY = "jupyter_mlops"
AUTH_RESOURCE = "jupyter_mlops"


class BaseHandler(APIHandler):
    """Common plumbing: the injected service, off-loop calls, JSON replies and the one error translation."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> MlopsService:
        """The service built once at extension load (workspace, thread pool)."""
        return self.settings[SETTINGS_KEY]  # type: ignore[no-any-return]

    async def use(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a use case of :mod:`jupyter_mlops.app` over the service's workspace, off the event loop."""
        return await self.call(fn, self.service.workspace, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store/compare call on the service's thread pool."""
        return await IOLoop.current().run_in_executor(self.service.executor, fn, *args)

    def reply(self, payload: dict[str, Any] | bytes) -> None:
        """Finish with a JSON body (a payload, or bytes from :func:`encode`); NaN metrics become null."""
        self.set_header("Content-Type", "application/json")
        self.finish(payload if isinstance(payload, bytes) else encode(payload))

    def query(self, name: str) -> str | None:
        """A query argument (last value wins), or None."""
        return self.get_query_argument(name, default=None)

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        """One warning line for a deliberate error (a bad request, a missing run); a traceback only for bugs."""
        if isinstance(value, MlopsError):
            # The path only: the query string may carry the server's token.
            self.log.warning("jupyter_mlops: %d %s %s: %s", http_status(value), self.request.method,
                             self.request.path, value.message)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The single error translation: MlopsError → its HTTP status and ``{"code", "message"}``."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MlopsError):
            self.set_status(http_status(exc))
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(exc.to_dict()))
            return
        if isinstance(exc, tornado.web.HTTPError):
            # 403s from authentication/XSRF/authorization and tornado's own 4xx keep their status.
            message = exc.log_message % exc.args if exc.log_message else (exc.reason or "request refused")
            code = "FORBIDDEN" if status_code == 403 else "HTTP_ERROR"
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"code": code, "message": message}))
            return
        self.log.error("jupyter_mlops: unexpected error", exc_info=kwargs.get("exc_info"))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"code": "INTERNAL", "message": "internal error; see the Jupyter server log"}))


class SettingsHandler(BaseHandler):
    """``GET settings``: version handshake and the (redacted) store URL."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Reply with the server's version and store."""
        self.reply(schemas.settings_json(_version.__version__, self.service.store_url))


class RunsHandler(BaseHandler):
    """``GET runs?filter=&sort=&limit=&offset=``: one page of runs."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Reply with a page of runs matching the filter."""
        q = schemas.parse_runs_query({k: self.query(k) for k in ("filter", "sort", "limit", "offset")})
        page = await self.use(runs.list_runs, q.filter, q.order_by, q.limit, q.offset)
        local = await self.use(sync.local_only, [r.id for r in page.items])
        self.reply(schemas.runs_page_json(page, local))


class RunHandler(BaseHandler):
    """``GET runs/{id}`` (run + env + executed code + data profiles) and ``PATCH runs/{id}`` (tags, note, name)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        """Reply with the run, its environment snapshot, its executed code and its data inputs' profiles."""
        run_ref = schemas.parse_run_ref(ref)
        detail = await self.use(runs.show_run, run_ref)
        local = await self.use(sync.local_only, [detail.run.id])
        self.reply(schemas.run_detail_json(detail.run, detail.env, detail.code, detail.profiles, local))

    @tornado.web.authenticated
    @authorized
    async def patch(self, ref: str) -> None:
        """Apply a validated patch and reply with the updated run."""
        run_ref = schemas.parse_run_ref(ref)
        patch = schemas.parse_run_patch(self.request.body)
        run = await self.use(lambda ws: runs.edit_run(ws, run_ref, tags=patch.tags, note=patch.note, name=patch.name))
        self.reply({"run": schemas.run_json(run)})


class MetricHistoryHandler(BaseHandler):
    """``GET runs/{id}/metrics/{key}[?slice=LABEL]``: every point of one metric, or of it on one slice."""

    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str, key: str) -> None:
        """Reply with the metric's history (by step); with ``slice``, that slice's history (ADR-080)."""
        run_ref = schemas.parse_run_ref(ref)
        metric_key = schemas.parse_metric_key(key)
        label = self.query("slice")
        if label is None:
            points = await self.use(runs.metric_history, run_ref, metric_key)
            self.reply(schemas.metric_history_json(metric_key, points))
            return
        sliced = await self.use(runs.slice_metric_history, run_ref, metric_key, label)
        self.reply(schemas.metric_history_json(metric_key, sliced, label))


class SliceHandler(BaseHandler):
    """``GET runs/{id}/slice?metric=KEY`` (or ``?target=NAME``): the executed cells that produced it (ADR-109)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        """Reply with the slice, its emitted cells and notebook; nothing is written or executed."""
        run_ref = schemas.parse_run_ref(ref)
        target, metric = schemas.parse_slice_target(self.query("metric"), self.query("target"))
        self.reply(await self.use(lambda ws: slicing.slice_report(ws, run_ref, target, metric=metric)))


class CompareHandler(BaseHandler):
    """``GET compare?ids=a,b[,...][&points=N]``: the Comparison plus Vega-Lite charts (history and params per metric).

    Histories longer than ``points`` (default 1,000) per run are downsampled; the reply says which (ADR-106).
    """

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Reply with the comparison of the given runs."""
        ids = schemas.parse_id_list(self.query("ids"))
        points = schemas.parse_points(self.query("points"))
        # Built and encoded in one off-loop call: the reply is hundreds of KB and encoding it takes tens of ms.
        self.reply(await self.call(self._compare_text, ids, points))

    def _compare_text(self, ids: list[str], points: int) -> bytes:
        answer = compare.compare(self.service.workspace, ids, max_points=points)
        return encode(schemas.compare_json(answer.comparison.to_dict(), answer.history_charts, answer.params_charts,
                                           answer.sampling_json()))


class DiffHandler(BaseHandler):
    """``GET diff?a=&b=``: the executed-code diff between two runs, the JSON of ``jupyter-mlops diff --format json``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Reply with the diff of run b's executed code against run a's (``app.diff.diff_runs``)."""
        a, b = self.query("a"), self.query("b")
        if not a or not b:
            raise InvalidInput("diff needs two runs: diff?a=<run>&b=<run>")
        self.reply(await self.call(self.service.code_diff, schemas.parse_run_ref(a, "run a"),
                                   schemas.parse_run_ref(b, "run b")))


class ArtifactDiffHandler(BaseHandler):
    """``GET artifact-diff?a=&b=[&name=...][&images=1]``: what ``jupyter-mlops diff-artifact --format json`` prints.

    ``images=1`` adds each image diff's PNGs (overlay, side by side) as base64 (ADR-104).
    """

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Reply with the artifact diffs of run b against run a."""
        a, b = self.query("a"), self.query("b")
        if not a or not b:
            raise InvalidInput("artifact-diff needs two runs: artifact-diff?a=<run>&b=<run>[&name=<artifact>]")
        names = [name for name in self.get_query_arguments("name") if name]
        images = (self.query("images") or "0") in ("1", "true")
        result = await self.use(artifact_diff.diff_artifacts, schemas.parse_run_ref(a, "run a"),
                                schemas.parse_run_ref(b, "run b"), names)
        self.reply(result.to_dict(images))


class ReproduceHandler(BaseHandler):
    """``POST runs/{id}/reproduce``: validate, then queue the reproduction; 202 with the job and its Location."""

    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        """Queue ``reproduce_run`` for the run (one at a time per run) and reply with the queued job."""
        run_ref = schemas.parse_run_ref(ref)
        options = schemas.parse_reproduce_options(self.request.body)
        job = await self.call(self.service.start_reproduction, run_ref, options)
        self.set_status(202)
        self.set_header("Location", url_path_join(self.base_url, "jupyter-mlops", "api", "jobs", job["id"]))
        self.reply({"job": job})


class JobHandler(BaseHandler):
    """``GET jobs/{id}`` (state, progress, result when done) and ``DELETE jobs/{id}`` (cancel)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """Reply with the job's state, its last progress and, once done, the reproduction's JSON."""
        self.reply({"job": self.service.jobs.snapshot(schemas.parse_job_id(job_id))})

    @tornado.web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        """Drop a queued job or ask a running one to stop before its next cell (its kernel is shut down)."""
        job = self.service.jobs.cancel(schemas.parse_job_id(job_id))
        self.set_status(202 if job["state"] == "running" else 200)
        self.reply({"job": job})


class ModelsHandler(BaseHandler):
    """``GET models``: every registered model, the JSON of ``jupyter-mlops models list --format json``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Reply with the registered models (newest version, aliases, stages)."""
        self.reply(model_json.models_json(await self.use(models.list_models)))


class ModelHandler(BaseHandler):
    """``GET models/{NAME[:VERSION]}``: a model's versions (or one), as ``models show --format json`` prints them."""

    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        """Reply with the versions the reference names, newest first, each with its lineage and gaps."""
        self.reply(model_json.versions_json(await self.use(models.show_model, schemas.parse_model_ref(ref))))


class ModelLineageHandler(BaseHandler):
    """``GET models/{NAME:VERSION|NAME:latest|NAME@ALIAS}/lineage``: the graph of ``models lineage --format json``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        """Reply with the version's lineage: data -> run -> model, and its parents' in turn."""
        self.reply(model_json.lineage_json(await self.use(models.version_lineage, schemas.parse_model_ref(ref))))


class ModelHistoryHandler(BaseHandler):
    """``GET models/{NAME}/history``: every alias and stage change, as ``models history --format json``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """Reply with the model's append-only alias/stage history, oldest first."""
        self.reply(model_json.history_json(await self.use(models.model_history, schemas.parse_model_ref(name))))


class ModelChangeHandler(BaseHandler):
    """``POST models/{NAME:VERSION|NAME@ALIAS}/{kind}``: ``models alias`` or ``models stage`` over REST.

    Both change one version's place in the registry the same way: only the use case differs.
    """

    kind: ClassVar[str]
    change_version: ClassVar[Callable[..., ModelEvent]]

    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        """Apply the change, refusing an incomplete lineage unless forced with a reason; reply with the history row."""
        version_ref = schemas.parse_model_ref(ref)
        change = schemas.parse_model_change(self.request.body, self.kind)
        apply = type(self).change_version
        event = await self.use(lambda ws: apply(ws, version_ref, change.target, force=change.force,
                                                reason=change.reason, note=change.note))
        self.reply({"event": event.to_dict()})


class ModelAliasHandler(ModelChangeHandler):
    """``POST models/{ref}/alias``: point an alias at the version."""

    kind = "alias"
    change_version = models.set_alias


class ModelStageHandler(ModelChangeHandler):
    """``POST models/{ref}/stage``: move the version to a stage (staging and production need complete lineage)."""

    kind = "stage"
    change_version = models.set_stage


class SweepHandler(BaseHandler):
    """``GET sweeps/{id}?metric=KEY:max``: a sweep's runs as rows for its charts (``app.sweep.sweep_table``)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        """Reply with the sweep's varying params, metrics and rows, the best first."""
        table = await self.use(sweep.sweep_table, sweep_id, self.query("metric") or None)
        self.reply(table.to_dict())


class NotFoundHandler(BaseHandler):
    """Anything else under the API prefix: a JSON 404 rather than an HTML page."""

    @tornado.web.authenticated
    @authorized(action="read")
    async def get(self, rest: str) -> None:
        """Reply 404 for an unknown endpoint."""
        raise NotFound(f"no such endpoint: {rest[:80]!r}")


ROUTES: list[tuple[str, type[BaseHandler]]] = [
    (r"settings", SettingsHandler),
    (r"runs", RunsHandler),
    (r"runs/([^/]+)", RunHandler),
    (r"runs/([^/]+)/metrics/(.+)", MetricHistoryHandler),
    (r"runs/([^/]+)/reproduce", ReproduceHandler),
    (r"runs/([^/]+)/slice", SliceHandler),
    (r"jobs/([^/]+)", JobHandler),
    (r"compare", CompareHandler),
    (r"sweeps/([^/]+)", SweepHandler),
    (r"diff", DiffHandler),
    (r"artifact-diff", ArtifactDiffHandler),
    (r"models", ModelsHandler),
    (r"models/([^/]+)", ModelHandler),
    (r"models/([^/]+)/lineage", ModelLineageHandler),
    (r"models/([^/]+)/history", ModelHistoryHandler),
    (r"models/([^/]+)/alias", ModelAliasHandler),
    (r"models/([^/]+)/stage", ModelStageHandler),
    (r"(.*)", NotFoundHandler),
]


def setup_handlers(web_app: Any, service: MlopsService) -> None:
    """Inject the service into ``web_app.settings`` and add the route table under the API prefix."""
    web_app.settings[SETTINGS_KEY] = service
    prefix = url_path_join(web_app.settings.get("base_url", "/"), "jupyter-mlops", "api")
    web_app.add_handlers(".*$", [(url_path_join(prefix, pattern) + "/?$", handler) for pattern, handler in ROUTES])


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; non-finite floats (NaN metrics) become null, since JSON has no NaN.

    orjson, not the standard library: a compare reply carries tens of thousands of floats, which ``json.dumps``
    took 58 ms to write and orjson 2.8 ms (docs/benchmarks/server.md, ADR-016). It writes NaN and infinities as
    null by itself; non-string keys become strings, as ``json.dumps`` makes them.
    """
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
