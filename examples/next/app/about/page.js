// A static page: proxy.js still runs before it, so visiting it keeps the session renewed.
export default function About() {
  return (
    <>
      <h1 id="about">About</h1>
      <p>A page that knows nothing of the session.</p>
    </>
  );
}
