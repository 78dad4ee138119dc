/**
 * A Swagger UI plugin (browser JavaScript, served inside /docs/assets/swagger-init.js: the page's
 * Content-Security-Policy allows no inline script) for the answers Swagger UI shows badly.
 *
 * Swagger UI (5.35.0) fetches an answer whose media type does not match /(json|xml|yaml|text)\b/ as a
 * Blob (swagger-client's serializeResponse uses `res.blob()`), keeps that Blob as the response's
 * `text` (the spec reducer for `spec_set_response` puts `data` back after fromJSOrdered) and hands it
 * to the `responseBody` component as `content`, with `contentType`, `url` (the request's) and
 * `headers`. That component (class ResponseBody) renders audio/* as `<audio><source src={url}>`:
 * the browser GETs the request URL again, which for `POST /v1/tts` is a 404 without the body or the
 * key, and the CSP had no media-src anyway. It shows other binary types (model/gltf-binary) as text,
 * and NDJSON as "can't parse JSON" with that prefix in the downloaded file.
 *
 * This plugin wraps `responseBody`:
 * - audio/*: plays the Blob already fetched (an object URL: CSP `media-src blob:`), with a download
 *   link; raw PCM (`audio/pcm;rate=…`, which no browser plays) gets a WAV header for the player
 *   only, and the download is the bytes as answered;
 * - any other binary answer but images: a download link of the Blob, named after the path;
 * - NDJSON: the text as answered, downloadable as .ndjson;
 * - everything else: Swagger UI's own rendering.
 *
 * Plain ES2020 for the browser, served as a file of its own (gzipped at install with Swagger UI,
 * src/cli/docs-assets.mjs), not from a string in the Worker's code: the browser test
 * (test/node/docs-browser.test.ts) runs it under the page's real CSP.
 */

(() => {
  function mediaPlugin(system) {
    var React = system.React;
    var h = React.createElement;
    var NDJSON = /^application\/(x-)?(ndjson|jsonl|jsonlines)\b/;
    var EXTENSIONS = {
      "audio/mpeg": "mp3",
      "audio/mp3": "mp3",
      "audio/wav": "wav",
      "audio/wave": "wav",
      "audio/x-wav": "wav",
      "audio/pcm": "pcm",
      "audio/ogg": "ogg",
      "audio/opus": "opus",
      "audio/flac": "flac",
      "audio/aac": "aac",
      "audio/mp4": "m4a",
      "audio/webm": "webm",
      "audio/basic": "ulaw",
      "model/gltf-binary": "glb",
      "application/octet-stream": "bin",
    };

    function mediaType(type) {
      return String(type || "")
        .split(";")[0]
        .trim()
        .toLowerCase();
    }

    function parameters(type) {
      var out = {};
      String(type || "")
        .split(";")
        .slice(1)
        .forEach((part) => {
          var eq = part.indexOf("=");
          if (eq > 0)
            out[part.slice(0, eq).trim().toLowerCase()] = part
              .slice(eq + 1)
              .trim()
              .replace(/^"|"$/g, "")
              .toLowerCase();
        });
      return out;
    }

    function header(headers, name) {
      for (var key in headers || {}) if (key.toLowerCase() === name) return String(headers[key]);
      return "";
    }

    /** Content-Disposition's file name, else the request path after /v1/ and the media type's extension. */
    function fileName(url, headers, type) {
      var disposition = header(headers, "content-disposition");
      var named = /filename\*=[^']*'[^']*'([^;]+)/i.exec(disposition) || /filename="([^"]+)"/i.exec(disposition) || /filename=([^;]+)/i.exec(disposition);
      if (named) {
        try {
          return decodeURIComponent(named[1].trim());
        } catch (_e) {
          return named[1].trim();
        }
      }
      var path = "";
      try {
        path = new URL(url, window.location.href).pathname;
      } catch (_e) {
        path = "";
      }
      var base =
        path
          .replace(/^\/v\d+\//, "")
          .split("/")
          .filter(Boolean)
          .join("-")
          .replace(/[^\w.-]+/g, "_") || "response";
      var essence = mediaType(type);
      var sub = essence.split("/")[1] || "";
      var ext = EXTENSIONS[essence] || (NDJSON.test(essence) ? "ndjson" : /^[a-z0-9]{1,5}$/.test(sub.replace(/^x-/, "")) ? sub.replace(/^x-/, "") : "bin");
      return `${base}.${ext}`;
    }

    function size(bytes) {
      return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
    }

    /** Raw PCM16 (the rate in the media type) wrapped in a WAV header, so the player can decode it. */
    function playableBlob(blob, type) {
      if (mediaType(type) !== "audio/pcm") return blob;
      var p = parameters(type);
      var rate = Number(p.rate);
      var channels = Number(p.channels || 1);
      var bits = Number(p.bits || 16);
      if (!(rate > 0) || !(channels >= 1) || bits !== 16 || (p.encoding && p.encoding !== "signed-int") || (p.endianness && p.endianness !== "little"))
        return blob;
      var view = new DataView(new ArrayBuffer(44));
      var ascii = (at, text) => {
        for (let i = 0; i < 4; i++) view.setUint8(at + i, text.charCodeAt(i));
      };
      ascii(0, "RIFF");
      view.setUint32(4, 36 + blob.size, true);
      ascii(8, "WAVE");
      ascii(12, "fmt ");
      view.setUint32(16, 16, true);
      view.setUint16(20, 1, true);
      view.setUint16(22, channels, true);
      view.setUint32(24, rate, true);
      view.setUint32(28, rate * channels * 2, true);
      view.setUint16(32, channels * 2, true);
      view.setUint16(34, 16, true);
      ascii(36, "data");
      view.setUint32(40, blob.size, true);
      return new Blob([view.buffer, blob], { type: "audio/wav" });
    }

    /** An object URL for a Blob, revoked when the Blob is replaced (a new Execute) or the answer goes. */
    function useObjectUrl(blob) {
      var url = React.useMemo(() => (blob ? URL.createObjectURL(blob) : null), [blob]);
      React.useEffect(
        () => () => {
          if (url) URL.revokeObjectURL(url);
        },
        [url],
      );
      return url;
    }

    function BinaryResponse(props) {
      var blob = props.content;
      var type = props.contentType || blob.type;
      var audio = /^audio\//.test(mediaType(type));
      var name = fileName(props.url, props.headers, type);
      var playable = React.useMemo(() => (audio ? playableBlob(blob, type) : null), [blob, type, audio]);
      var download = useObjectUrl(blob);
      var play = useObjectUrl(playable);
      var failure = React.useState(null);
      var failed = playable !== null && failure[0] === playable;
      return h(
        "div",
        null,
        h("h5", null, "Response body"),
        h(
          "div",
          { className: "response-body-binary" },
          audio
            ? h("audio", {
                controls: true,
                preload: "metadata",
                src: play,
                onError: () => {
                  failure[1](playable);
                },
              })
            : null,
          failed ? h("p", { className: "i" }, `This browser cannot play ${mediaType(type)}: download it instead.`) : null,
          h("div", null, h("a", { href: download, download: name }, `Download ${name}`), ` (${size(blob.size)}, ${mediaType(type)})`),
        ),
      );
    }

    function NdjsonResponse(props) {
      var HighlightCode = props.getComponent("HighlightCode", true);
      var name = fileName(props.url, props.headers, props.contentType);
      return h("div", null, h("h5", null, "Response body"), h(HighlightCode, { downloadable: true, fileName: name, canCopy: true }, props.content));
    }

    return {
      wrapComponents: {
        responseBody: (Original) =>
          function MediaResponseBody(props) {
            var content = props.content;
            var type = mediaType(props.contentType);
            if (typeof Blob !== "undefined" && content instanceof Blob && content.size > 0 && !/^image\//.test(type)) return h(BinaryResponse, props);
            if (typeof content === "string" && NDJSON.test(type)) return h(NdjsonResponse, props);
            return h(Original, props);
          },
      },
    };
  }

  // Starts Swagger UI over the document named by the page, with the plugin above.
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true, plugins: [mediaPlugin] });
})();
