'use strict';
// Draws the two charts of /charts from the page's JSON block (no inline
// script: the CSP allows only this origin's files).
(function () {
  const data = JSON.parse(document.getElementById('chart-data').textContent);
  const draw = (id, datasets) => new window.Chart(document.getElementById(id), {
    type: 'bar',
    data: { labels: data.labels, datasets },
    options: {
      animation: false,
      responsive: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  draw('by-service', data.services);
  draw('by-reason', data.reasons);
  document.body.dataset.chartsDrawn = 'yes';
}());
