export default function Home() {
  return (
    <>
      <h1>sessionkit on Next.js</h1>
      <p>
        Sign in as alice / wonderland, then move between the pages: proxy.js renews the session on
        the way, the pages only read it.
      </p>
    </>
  );
}
