# Atrium: build the TypeScript, then run the compiled server on Node 20 (the uWebSockets.js
# native binary targets Node 20 / glibc >= 2.36, which bookworm provides).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY shared ./shared
COPY persistence ./persistence
COPY server ./server
COPY client ./client
COPY load-tests ./load-tests
RUN npm run build && npm run build:web && npm prune --omit=dev

FROM node:20-bookworm-slim
# HOST=0.0.0.0 so the published port reaches it; the server then refuses to start until it is
# given AUTH_SECRET or AUTH_JWKS_URL (or AUTH=none, explicitly): docker run -e AUTH_SECRET=…
ENV NODE_ENV=production HOST=0.0.0.0 PORT=1234 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The browser editor, served at / (WEB_DIR's default is relative to the working directory).
COPY --from=build /app/client/web/dist ./client/web/dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 1234
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:1234/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server/main.js"]
