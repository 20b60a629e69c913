// Runs the cases read from stdin through the official Twilio Node library (npm `twilio`,
// installed in infra/local/oracles by infra/local/install-deps.sh; found through NODE_PATH).
//
// Input: a JSON object of case lists; output: the same keys, one answer per case.
//   sign:       {algorithm, key, url, params}            -> getExpectedTwilioSignature
//   validate:   {algorithm, key, url, params, signature} -> validateRequest (bool)
//   body:       {algorithm, key, url, body, signature}   -> validateRequestWithBody (bool)
//   settings:   header value                             -> {algorithm: getSignatureAlgorithm,
//               supported: whether getExpectedTwilioSignature accepts that algorithm}
//   middleware: {authToken, sharedKeySecret, url, params, body, signature, settings}
//               -> the HTTP status twilio.webhook() gives (200 when it calls next())
// params are [[key, value], ...]; a repeated key becomes an array, as Express's body parser
// gives it.
"use strict";

const twilio = require("twilio");

function toObject(pairs) {
  const out = {};
  for (const [key, value] of pairs) {
    if (Object.prototype.hasOwnProperty.call(out, key)) {
      out[key] = [].concat(out[key], value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

// An Express-shaped request and response, enough for twilio.webhook().
function runMiddleware(c) {
  const headers = {};
  if (c.signature !== null) headers["x-twilio-signature"] = c.signature;
  if (c.settings !== null) headers["x-twilio-webhooks-signature-settings"] = c.settings;
  const request = {
    header: (name) => headers[name.toLowerCase()],
    headers: {},
    body: toObject(c.params),
    rawBody: c.body,
  };
  const response = {
    statusCode: 200,
    type() {
      return this;
    },
    status(code) {
      this.statusCode = code;
      return this;
    },
    send() {
      return this;
    },
  };
  const options = { url: c.url };
  if (c.sharedKeySecret !== null) options.sharedKeySecret = c.sharedKeySecret;
  let passed = false;
  twilio.webhook(c.authToken, options)(request, response, () => {
    passed = true;
  });
  if (passed && response.statusCode !== 200) {
    throw new Error("middleware both passed and refused a request");
  }
  return passed ? 200 : response.statusCode;
}

// The library warns on the console for unsupported algorithms; keep stdout for the answer.
console.warn = () => {};
console.error = () => {};

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const output = {
  sign: input.sign.map((c) =>
    twilio.getExpectedTwilioSignature(c.key, c.url, toObject(c.params), c.algorithm),
  ),
  validate: input.validate.map((c) =>
    twilio.validateRequest(c.key, c.signature, c.url, toObject(c.params), c.algorithm),
  ),
  body: input.body.map((c) =>
    twilio.validateRequestWithBody(c.key, c.signature, c.url, c.body, c.algorithm),
  ),
  settings: input.settings.map((h) => {
    const algorithm = twilio.getSignatureAlgorithm(h);
    let supported = true;
    try {
      twilio.getExpectedTwilioSignature("k", "https://example.com/", {}, algorithm);
    } catch (e) {
      supported = false;
    }
    return { algorithm, supported };
  }),
  middleware: input.middleware.map(runMiddleware),
};
process.stdout.write(JSON.stringify(output));
