// Starts Swagger UI over the document named by the page. A file of its own (not an inline
// script) so the page's Content-Security-Policy can forbid inline scripts altogether.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true, tryItOutEnabled: false });
